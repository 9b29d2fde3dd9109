from flask import Blueprint, abort, jsonify, request
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from .db import Session, reporting_engine
from .models import Project, Task

bp = Blueprint("todo", __name__)


@bp.get("/tasks")
def list_tasks():
    tasks = Session.scalars(select(Task).options(joinedload(Task.project)).order_by(Task.id))
    return jsonify([task.to_dict() for task in tasks])


@bp.post("/projects")
def add_project():
    project = Project(name=request.get_json()["name"])
    Session.add(project)
    try:
        Session.commit()
    except IntegrityError:
        Session.rollback()
        abort(409, description="a project of that name exists")
    return jsonify(id=project.id), 201


@bp.post("/projects/<int:project_id>/tasks")
def add_tasks(project_id):
    """Several tasks at once, all or none."""
    with Session.begin():
        project = Session.get(Project, project_id) or abort(404)
        for title in request.get_json()["titles"]:
            Session.add(Task(project=project, title=title))
    return jsonify(count=len(project.tasks)), 201


@bp.post("/tasks/<int:task_id>/done")
def finish(task_id):
    task = Session.get(Task, task_id) or abort(404)
    task.done = True
    Session.commit()
    return jsonify(task.to_dict())


@bp.get("/report")
def report():
    """Counted on the reporting engine, which the app makes at its first report."""
    with reporting_engine().connect() as conn:
        rows = conn.execute(
            text(
                "SELECT p.name, count(t.id) FILTER (WHERE NOT t.done) AS open "
                "FROM projects p LEFT JOIN tasks t ON t.project_id = p.id "
                "GROUP BY p.name ORDER BY p.name"
            )
        ).all()
    return jsonify({name: open_ for name, open_ in rows})


@bp.get("/count")
def count():
    return jsonify(tasks=Session.scalar(select(func.count()).select_from(Task)))
