"""The 30 tables of bench/transactional.py's Flask app, as Django models ``T00`` … ``T29``.

``t00`` and 29 tables whose nullable ``parent_id`` points at it: ``id`` an
auto-incremented integer primary key, ``name`` a NOT NULL ``varchar(40)``. The
foreign keys get no index (``db_index=False``), as on the Flask side.
"""

from django.db import models

TABLES = 30


def _model(i: int) -> type[models.Model]:
    attrs: dict[str, object] = {
        "__module__": __name__,
        "name": models.CharField(max_length=40),
        "Meta": type("Meta", (), {"db_table": f"t{i:02d}"}),
    }
    if i:
        attrs["parent"] = models.ForeignKey(
            MODELS[0], null=True, on_delete=models.CASCADE, db_index=False, related_name="+"
        )
    return type(f"T{i:02d}", (models.Model,), attrs)


MODELS: list[type[models.Model]] = []
for _i in range(TABLES):
    MODELS.append(_model(_i))
globals().update({m.__name__: m for m in MODELS})
