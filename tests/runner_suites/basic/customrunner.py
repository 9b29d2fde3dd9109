"""A DBTestRunner subclass with an extra option, for --runner."""

from flask_dbtestcase.runner import DBTestRunner


class LoudRunner(DBTestRunner):
    def __init__(self, shout=False, **kwargs):
        super().__init__(**kwargs)
        self.shout = shout

    @classmethod
    def add_arguments(cls, parser):
        super().add_arguments(parser)
        parser.add_argument("--shout", action="store_true")

    def summary_line(self, result):
        line = super().summary_line(result)
        return line.upper() if self.shout else line
