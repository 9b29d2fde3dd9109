"""A module holding an app object but no factory, as FLASK_APP=app finds many apps."""

from flask import Flask
from flask_sqlalchemy import SQLAlchemy

from tests.mistakeapps import ELSEWHERE

db = SQLAlchemy()
app = Flask(__name__)
app.config["SQLALCHEMY_DATABASE_URI"] = ELSEWHERE
db.init_app(app)
