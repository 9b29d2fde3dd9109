from flask_dbtestcase import FlaskDBTestCase
from sqlalchemy import func, select, text

from library.models import Author, Book, Event, Loan, db


class BookTests(FlaskDBTestCase):
    """Every test starts from the class's data; what it and its requests do is rolled back."""

    @classmethod
    def setUpTestData(cls):
        cls.le_guin = Author(name="Ursula K. Le Guin")
        cls.book = Book(title="The Dispossessed", author=cls.le_guin)
        db.session.add(cls.book)
        db.session.commit()

    def test_the_db_attribute_is_the_apps_lite_extension(self):
        self.assertIs(self.db, db)
        self.assertIs(self.session, db.session)  # the test's app context's session

    def test_list_books_is_one_query(self):
        with self.assertNumQueries(1):
            resp = self.client.get("/books")

        self.assertEqual(resp.get_json(), [self.book.to_dict()])

    def test_add_book_commits_in_the_request(self):
        resp = self.client.post("/books", json={"title": "The Lathe of Heaven", "author": "X"})

        self.assertEqual(resp.status_code, 201)
        self.assertRowCount(Book, 2)
        self.assertRowCount(Author, 2)
        self.assertRowCount(Event, 1)  # the audit engine's database, rolled back too

    def test_add_book_reuses_the_author(self):
        self.client.post("/books", json={"title": "Earthsea", "author": self.le_guin.name})

        self.assertRowCount(Author, 1)
        self.assertEqual(len(self.session.get(Author, self.le_guin.id).books), 2)

    def test_lend_then_lend_again_is_refused(self):
        first = self.client.post(f"/books/{self.book.id}/loans", json={"borrower": "ann"})
        second = self.client.post(f"/books/{self.book.id}/loans", json={"borrower": "bob"})

        self.assertEqual((first.status_code, second.status_code), (201, 409))
        self.assertRowCount(Loan, 1, borrower="ann")
        self.assertRowCount(Event, 1)  # only the first loan was audited

    def test_return_a_loan(self):
        loan = Loan(book=self.book, borrower="ann")
        self.session.add(loan)
        self.session.commit()

        resp = self.client.post(f"/loans/{loan.id}/return")

        self.assertEqual(resp.status_code, 200)
        self.session.refresh(loan)
        self.assertTrue(loan.returned)

    def test_stats_through_a_core_connection(self):
        self.session.add(Loan(book=self.book, borrower="ann"))
        self.session.flush()  # what the test flushed, the request sees

        self.assertEqual(self.client.get("/stats").get_json(), {"books": 1, "on_loan": 1})

    def test_rollback_in_the_test(self):
        self.session.add(Book(title="Draft", author=self.le_guin))
        self.session.flush()
        self.session.rollback()

        self.assertRowCount(Book, 1)

    def test_the_audit_engine_has_a_test_database_of_its_own(self):
        with self.app.app_context():
            main = db.engine.url.database
            audit = db.get_engine("audit").url.database

        self.assertEqual(audit, f"{main}_audit")
        count = self.session.scalar(select(func.count()).select_from(Event))
        self.assertEqual(count, 0)

    def test_raw_sql(self):
        self.session.execute(text("UPDATE books SET title = upper(title)"))

        self.assertEqual(self.session.scalar(select(Book.title)), "THE DISPOSSESSED")
