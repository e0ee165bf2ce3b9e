"""The planner, pure: server state and feed in, actions out, in a fixed order."""

from __future__ import annotations

from extapi.hrsync.config import load_config
from extapi.hrsync.feed import Feed, parse_feed
from extapi.hrsync.plan import ServerJob, ServerState, ServerUser, make_plan
from tests.hrsync.feeds import MAPPING, as_csv, people

CONFIG = load_config(MAPPING)
POSITIONS = {f"POS{i}": str(i) for i in range(1, 5)}
ORGANISATIONS = {f"ORG{i}": str(10 + i) for i in range(1, 4)}


def feed_of(rows: list[dict[str, str]]) -> Feed:
    return parse_feed(as_csv(rows), "csv", CONFIG)


def server_holding(rows: list[dict[str, str]]) -> ServerState:
    """A server where everyone in ``rows`` already is, exactly as the rows say (the email
    hidden, as the API hides it, and the hire date as unix seconds, noon UTC)."""
    state = ServerState(positions=dict(POSITIONS), organisations=dict(ORGANISATIONS))
    job_ids = {row["employee_id"]: str(100 + n) for n, row in enumerate(rows)}
    for n, row in enumerate(rows):
        import datetime as dt

        hire = dt.datetime.fromisoformat(row["hire_date"] + "T12:00:00+00:00")
        state.users.append(
            ServerUser(
                str(n + 1),
                row["login"],
                row["employee_id"],
                False,
                {
                    "idnumber": row["employee_id"],
                    "username": row["login"],
                    "firstname": row["first_name"],
                    "lastname": row["last_name"],
                    "email": None,
                    "city": row["city"],
                },
                {"department": row["dept"], "hire_date": str(int(hire.timestamp()))},
            )
        )
        state.jobs.append(
            ServerJob(
                job_ids[row["employee_id"]],
                str(n + 1),
                row["job_id"],
                {
                    "fullname": row["job_title"],
                    "shortname": "",
                    "start_date": row["job_start"],
                    "end_date": "",
                },
                POSITIONS[row["position"]],
                ORGANISATIONS[row["organisation"]],
                job_ids.get(row["manager_id"]),
            )
        )
    return state


def empty_server() -> ServerState:
    return ServerState(positions=dict(POSITIONS), organisations=dict(ORGANISATIONS))


def test_new_people_are_created_with_their_jobs_managers_first():
    # given an empty server and three people, the first managing the other two
    plan = make_plan(empty_server(), feed_of(people(3)), CONFIG)
    # then each is created with their job in one action; staff wait for the manager's wave
    assert [(a.kind, a.key, a.wave) for a in plan.actions] == [
        ("create", "E00000", 0),
        ("create", "E00001", 1),
        ("create", "E00002", 1),
    ]
    create_user, create_job = plan.actions[1].mutations
    assert create_user.kind == "create_user" and create_user.input is not None
    assert create_user.input["email"] == "person00001@example.com"
    assert create_user.input["generate_password"] is True
    assert {"shortname": "department", "data": "Finance"} in create_user.input["custom_fields"]
    assert create_job.kind == "create_job" and create_job.input is not None
    assert create_job.input["user"] == {"username": "person00001"}
    assert create_job.input["manager"] == {
        "user": {"username": "person00000"},
        "idnumber": "J-E00000",
    }
    assert create_job.input["position"] == {"idnumber": "POS3"}
    assert plan.counts() == {"create": 3, "jobs_created": 3}


def test_a_server_that_matches_the_feed_needs_nothing():
    rows = people(25)
    plan = make_plan(server_holding(rows), feed_of(rows), CONFIG)
    assert plan.actions == [] and plan.unchanged == 25 and plan.errors == []


def test_the_plan_is_the_same_every_time():
    rows = people(40)
    first = make_plan(empty_server(), feed_of(rows), CONFIG)
    again = make_plan(empty_server(), feed_of(rows), CONFIG)
    assert [a.id for a in first.actions] == [a.id for a in again.actions]
    assert len({a.id for a in first.actions}) == 40


def test_movers_get_their_job_updated_by_reference():
    # given a server in line with the feed, then person 5 moves to another position,
    # organisation and manager
    rows = people(12)
    server = server_holding(rows)
    rows[5].update(position="POS1", organisation="ORG1", manager_id="E00001")
    plan = make_plan(server, feed_of(rows), CONFIG)
    # then one job update, pointing at the new manager's existing job by id
    (action,) = plan.actions
    assert action.kind == "jobs" and action.key == "E00005"
    (mutation,) = action.mutations
    assert mutation.kind == "update_job" and mutation.target == {"id": "105"}
    assert mutation.input == {
        "position": {"idnumber": "POS1"},
        "organisation": {"idnumber": "ORG1"},
        "manager": {"id": "101"},
    }


def test_a_new_job_idnumber_replaces_the_old_job():
    rows = people(3)
    server = server_holding(rows)
    rows[2]["job_id"] = "J-NEW"
    (action,) = make_plan(server, feed_of(rows), CONFIG).actions
    assert [m.kind for m in action.mutations] == ["create_job", "delete_job"]
    assert action.mutations[0].input is not None
    assert action.mutations[0].input["user"] == {"id": "3"}
    assert action.mutations[1].target == {"id": "102"}


def test_the_hidden_email_goes_along_with_another_change_only():
    rows = people(3)
    server = server_holding(rows)
    rows[1]["email"] = "changed@example.com"
    assert make_plan(server, feed_of(rows), CONFIG).actions == []
    rows[1]["last_name"] = "Renamed"
    (action,) = make_plan(server, feed_of(rows), CONFIG).actions
    assert action.kind == "update" and action.changes == ("lastname",)
    assert action.mutations[0].input == {"lastname": "Renamed", "email": "changed@example.com"}


def test_a_suspended_person_in_the_feed_is_reactivated():
    rows = people(2)
    server = server_holding(rows)
    user = server.users[1]
    server.users[1] = ServerUser(
        user.id, user.username, user.idnumber, True, user.fields, user.custom
    )
    (action,) = make_plan(server, feed_of(rows), CONFIG).actions
    assert action.kind == "reactivate"
    assert action.mutations[0].input == {"suspended": False, "email": "person00001@example.com"}


def test_leavers_in_scope_are_suspended_and_nobody_else():
    # given a server with five people, a local account, a protected admin with an idnumber
    # and a suspended former employee
    rows = people(5)
    server = server_holding(rows)
    server.users += [
        ServerUser("50", "local.admin", "", False, {}),
        ServerUser("51", "admin", "E90000", False, {}),
        ServerUser("52", "gone", "E90001", True, {}),
    ]
    # when the feed lists only people 0 to 2, and person 3's row is bad
    feed_rows = rows[:4]
    feed_rows[3] = dict(feed_rows[3], email="bad")
    plan = make_plan(server, feed_of(feed_rows), CONFIG)
    # then only person 4 is suspended (person 3 is on a bad row, so not a leaver)
    assert [(a.kind, a.key) for a in plan.actions] == [("suspend", "E00004")]
    assert plan.actions[0].mutations[0].input == {"suspended": True}
    assert [e.key for e in plan.errors] == ["E00003"]


def test_an_unknown_position_makes_a_bad_row_and_its_new_staff_bad_too():
    # given an empty server; person 0 (managing 1 to 3) names a position that does not exist
    rows = people(4)
    rows[0]["position"] = "NOPE"
    plan = make_plan(empty_server(), feed_of(rows), CONFIG)
    # then person 0 is a bad row, and so are the staff whose manager would not exist
    assert [(e.line, e.key) for e in plan.errors] == [
        (2, "E00000"),
        (3, "E00001"),
        (4, "E00002"),
        (5, "E00003"),
    ]
    assert plan.errors[0].message == "unknown position 'NOPE'"
    assert plan.errors[1].message == "manager 'E00000' is on a bad row (line 2)"
    assert plan.actions == []


def test_staff_of_a_bad_row_use_the_managers_job_on_the_server():
    rows = people(3)
    server = server_holding(rows[:1])
    rows[0]["organisation"] = "NOPE"
    plan = make_plan(server, feed_of(rows), CONFIG)
    assert [e.key for e in plan.errors] == ["E00000"]
    jobs = [a.mutations[1] for a in plan.actions]
    assert [j.input["manager"] for j in jobs if j.input] == [{"id": "100"}, {"id": "100"}]


def test_an_unknown_manager_is_a_bad_row():
    rows = people(2)
    rows[1]["manager_id"] = "E77777"
    plan = make_plan(empty_server(), feed_of(rows), CONFIG)
    assert [(e.key, e.message) for e in plan.errors] == [
        ("E00001", "manager 'E77777' not found in the feed or on the server")
    ]


def test_managers_managing_each_other_with_new_jobs_are_bad_rows():
    rows = people(3)
    rows[0]["manager_id"] = "E00002"
    rows[2]["manager_id"] = "E00000"
    rows[1]["manager_id"] = "E00000"
    plan = make_plan(empty_server(), feed_of(rows), CONFIG)
    assert sorted(e.key or "" for e in plan.errors) == ["E00000", "E00001", "E00002"]
    assert plan.actions == []


def test_a_username_taken_by_someone_else_is_a_bad_row():
    rows = people(2)
    server = server_holding(rows[:1])
    rows[1]["login"] = rows[0]["login"]
    rows[0]["login"] = "renamed"
    plan = make_plan(server, feed_of(rows), CONFIG)
    assert [(e.key, e.message) for e in plan.errors] == [
        ("E00001", "username 'person00000' belongs to another user")
    ]
