"""Generated HR feeds: ``count`` people in a management tree ten wide (person i reports to
person (i - 1) // 10), spread over the positions and organisations of ``seed.toml``."""

from __future__ import annotations

import csv
import io
from pathlib import Path

COLUMNS = (
    "employee_id",
    "login",
    "first_name",
    "last_name",
    "email",
    "city",
    "dept",
    "hire_date",
    "job_id",
    "job_title",
    "position",
    "organisation",
    "manager_id",
    "job_start",
)
DEPARTMENTS = ("Engineering", "Finance", "People", "Sales")
SEED = Path(__file__).with_name("seed.toml")
MAPPING = Path(__file__).with_name("mapping.toml")


def employee_id(index: int) -> str:
    return f"E{index:05d}"


def person(index: int) -> dict[str, str]:
    return {
        "employee_id": employee_id(index),
        "login": f"person{index:05d}",
        "first_name": f"First{index}",
        "last_name": f"Last{index}",
        "email": f"person{index:05d}@example.com",
        "city": ("Wellington", "Auckland", "Dunedin")[index % 3],
        "dept": DEPARTMENTS[index % 4],
        "hire_date": f"20{10 + index % 10}-0{1 + index % 9}-1{index % 10}",
        "job_id": f"J-{employee_id(index)}",
        "job_title": "Director" if index == 0 else f"Job {index % 7}",
        "position": "POS1" if index == 0 else f"POS{2 + index % 3}",
        "organisation": f"ORG{1 + index % 3}",
        "manager_id": "" if index == 0 else employee_id((index - 1) // 10),
        "job_start": f"2020-0{1 + index % 9}-01",
    }


def people(count: int) -> list[dict[str, str]]:
    return [person(i) for i in range(count)]


def as_csv(rows: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def write_feed(path: Path, rows: list[dict[str, str]]) -> Path:
    path.write_text(as_csv(rows), encoding="utf-8")
    return path
