from flask_dbtestcase import FlaskDBTestCase

from library.models import Book


class CatalogueTests(FlaskDBTestCase):
    fixtures = ["catalogue.json"]

    def test_fixture_rows_are_there(self):
        self.assertRowCount(Book, 3)
        self.assertRowCount(Book, 2, author_id=1)

    def test_new_rows_get_ids_past_the_fixture_ones(self):
        resp = self.client.post("/books", json={"title": "Cosmicomics", "author": "Italo Calvino"})

        self.assertEqual(resp.get_json()["id"], 4)
