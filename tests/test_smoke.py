from tests.factories import fetch_token, graphql, make_api_client

STATUS = "query { totara_webapi_status { status } }"


def test_status_query_answers_ok(runtime, http):
    # given a client with a token
    client = make_api_client(runtime)
    token = fetch_token(http, client)
    # when it runs the status query with Totara's string variables
    response = graphql(http, token, {"query": STATUS, "variables": "{}"})
    # then it gets Totara's exact answer
    assert response.status_code == 200
    assert response.content == b'{"data":{"totara_webapi_status":{"status":"ok"}}}'


def test_health_reports_the_rate_limit_store_and_request_log(http):
    body = http.get("/healthz").json()
    assert body == {
        "status": "ok",
        "rate_limit_backend": "memory",
        "rate_limit_store_failures": 0,
        "rate_limit_enforced": True,
        "request_log_dropped": 0,
    }
