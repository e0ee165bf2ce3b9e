"""The real server under a barrage of hostile documents keeps answering ordinary requests."""

from __future__ import annotations

import threading

import httpx

from tests.factories import make_api_client

STATUS = {"query": "{ totara_webapi_status { status } }"}
HOSTILE = [
    "{ " + " ".join(f"a{i}: totara_webapi_status {{ status }}" for i in range(3000)) + " }",
    "{ totara_webapi_status { " + "status " * 9990 + "} }",
    "{ totara_webapi_status " + "@skip(if: false) " * 2000 + "{ status } }",
    "query { totara_webapi_status { ...a } } fragment a on totara_webapi_status { ...b } "
    "fragment b on totara_webapi_status { ...a }",
]


def test_hostile_documents_are_refused_while_normal_requests_succeed(runtime, live_server):
    # given a client, and a second thread sending hostile documents without pause
    client = make_api_client(runtime)
    token = live_server.token(client.client_id, client.secret)
    headers = {"Authorization": f"Bearer {token}"}
    stop = threading.Event()
    refusals: list[str] = []

    def attack() -> None:
        # At least one full round, however quickly the ordinary requests finish.
        with httpx.Client(timeout=30) as http:
            while True:
                for query in HOSTILE:
                    body = http.post(
                        live_server.graphql_url, json={"query": query}, headers=headers
                    )
                    refusals.append(body.json()["errors"][0]["message"])
                if stop.is_set():
                    return

    attacker = threading.Thread(target=attack)
    attacker.start()
    try:
        # when ordinary requests arrive meanwhile
        with httpx.Client(timeout=30) as http:
            answers = [
                http.post(live_server.graphql_url, json=STATUS, headers=headers).json()
                for _ in range(40)
            ]
    finally:
        stop.set()
        attacker.join()
    # then every ordinary request is answered and every hostile one refused with a clear reason
    assert all(a == {"data": {"totara_webapi_status": {"status": "ok"}}} for a in answers)
    assert refusals, "the attacker sent nothing"
    assert all(
        m.startswith(("Too many", 'Field "status" is repeated', "Cannot spread fragment"))
        or "tokens" in m
        for m in refusals
    ), set(refusals)
