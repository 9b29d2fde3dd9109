"""The models: plain SQLAlchemy declarative classes, as Flask-SQLAlchemy-Lite wants them.

The library's tables live in the "default" engine's database, the audit log
in the "audit" engine's: the session's ``binds`` send each model to its engine.
"""

from datetime import datetime

from flask_sqlalchemy_lite import SQLAlchemy
from sqlalchemy import DateTime, ForeignKey, String, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class AuditBase(DeclarativeBase):
    pass


db = SQLAlchemy(session_options={"binds": {AuditBase: "audit"}, "expire_on_commit": False})


class Author(Base):
    __tablename__ = "authors"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)

    books: Mapped[list["Book"]] = relationship(back_populates="author", order_by="Book.id")


class Book(Base):
    __tablename__ = "books"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    author_id: Mapped[int] = mapped_column(ForeignKey("authors.id"), index=True)

    author: Mapped[Author] = relationship(back_populates="books")
    loans: Mapped[list["Loan"]] = relationship(back_populates="book", order_by="Loan.id")

    def to_dict(self):
        return {"id": self.id, "title": self.title, "author": self.author.name}


class Loan(Base):
    __tablename__ = "loans"

    id: Mapped[int] = mapped_column(primary_key=True)
    book_id: Mapped[int] = mapped_column(ForeignKey("books.id"), index=True)
    borrower: Mapped[str] = mapped_column(String(80))
    returned: Mapped[bool] = mapped_column(default=False)

    book: Mapped[Book] = relationship(back_populates="loans")


class Event(AuditBase):
    __tablename__ = "events"

    id: Mapped[int] = mapped_column(primary_key=True)
    action: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
