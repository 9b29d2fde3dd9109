from flask import Blueprint, abort, jsonify, request
from sqlalchemy import func, insert, select
from sqlalchemy.orm import joinedload

from .models import Author, Book, Event, Loan, db

bp = Blueprint("library", __name__)


def audit(action):
    """Log an action through the audit engine itself (a Core connection of its own)."""
    with db.get_engine("audit").begin() as conn:
        conn.execute(insert(Event).values(action=action))


@bp.get("/books")
def list_books():
    books = db.session.scalars(select(Book).options(joinedload(Book.author)).order_by(Book.id))
    return jsonify([book.to_dict() for book in books])


@bp.post("/books")
def add_book():
    data = request.get_json()
    author = db.session.scalar(select(Author).filter_by(name=data["author"]))
    if author is None:
        author = Author(name=data["author"])
    book = Book(title=data["title"], author=author)
    db.session.add(book)
    db.session.add(Event(action=f"added {data['title']!r}"))  # through the session's bind
    db.session.commit()
    return jsonify(book.to_dict()), 201


@bp.post("/books/<int:book_id>/loans")
def lend(book_id):
    borrower = request.get_json()["borrower"]
    with db.session.begin():
        book = db.get_or_abort(Book, book_id)
        if any(not loan.returned for loan in book.loans):
            abort(409, description=f"{book.title!r} is on loan")
        loan = Loan(book=book, borrower=borrower)
        db.session.add(loan)
    audit(f"lent book {book_id} to {borrower}")
    return jsonify(id=loan.id), 201


@bp.post("/loans/<int:loan_id>/return")
def give_back(loan_id):
    loan = db.get_or_abort(Loan, loan_id)
    loan.returned = True
    db.session.commit()
    audit(f"returned loan {loan_id}")
    return jsonify(ok=True)


@bp.get("/stats")
def stats():
    """Counted with a Core connection of the default engine."""
    with db.engine.connect() as conn:
        books = conn.scalar(select(func.count()).select_from(Book))
        on_loan = conn.scalar(select(func.count()).select_from(Loan).filter_by(returned=False))
    return jsonify(books=books, on_loan=on_loan)
