"""A tiny HR sync: create a user through the extapi GraphQL API for each row of a CSV file."""

import csv

import httpx

CREATE_USER = """
mutation ($input: core_user_create_user_input!) {
  core_user_create_user(input: $input) { user { id username } }
}
"""


def sync_users(csv_path, base_url, client_id, client_secret):
    """Create every person in the CSV file; returns the new users' usernames."""
    token = httpx.post(
        f"{base_url}/totara/oauth2/token.php",
        data={
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": client_secret,
        },
    ).json()["access_token"]
    created = []
    with (
        open(csv_path, newline="") as rows,
        httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}) as api,
    ):
        for row in csv.DictReader(rows):
            person = {
                "username": row["username"],
                "firstname": row["firstname"],
                "lastname": row["lastname"],
                "email": row["email"],
                "generate_password": True,
                "custom_fields": [{"shortname": "department", "data": row["department"]}],
            }
            answer = api.post(
                "/api/graphql.php", json={"query": CREATE_USER, "variables": {"input": person}}
            ).json()
            if "errors" in answer:
                error = answer["errors"][0]
                raise RuntimeError(
                    f"{row['username']}: {error.get('debugMessage', error['message'])}"
                )
            created.append(answer["data"]["core_user_create_user"]["user"]["username"])
    return created
