"""The press list through the API: normalised handles, roles, clear refusals."""

from __future__ import annotations

from sportello_priority.component import COMPONENT
from tests.support.app import auth, running_app


async def test_press_list_is_normalised_listed_and_guarded(database_url: str) -> None:
    async with running_app([COMPONENT], database_url, press_handles="@FromSettings") as (_, client):
        added = await client.put("/v1/priority/press/@Tech_Desk", json={"note": "reporter"},
                                 headers=auth("supervisor"))
        listed = (await client.get("/v1/priority/press", headers=auth("agent"))).json()
        bare_at = await client.put("/v1/priority/press/@", json={}, headers=auth("supervisor"))
        by_agent = await client.put("/v1/priority/press/someone", json={}, headers=auth("agent"))
        removed = await client.delete("/v1/priority/press/TECH_DESK", headers=auth("supervisor"))
        again = await client.delete("/v1/priority/press/tech_desk", headers=auth("supervisor"))
    assert added.status_code == 200 and added.json()["handle"] == "tech_desk"
    assert {"handle": "tech_desk", "note": "reporter", "source": "api"} in listed
    assert {"handle": "fromsettings", "note": None, "source": "settings"} in listed
    assert bare_at.status_code == 422
    assert bare_at.headers["content-type"].startswith("application/problem+json")
    assert by_agent.status_code == 403
    assert removed.status_code == 204
    assert again.status_code == 404
