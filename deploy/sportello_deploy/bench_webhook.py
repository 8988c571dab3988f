"""The X webhook round of ``make bench``: signed Account Activity deliveries (one mention each)
against ingest's webhook, closed loop; times the intake alone (request -> 200)."""

from __future__ import annotations

import asyncio
import json
import statistics
import time
import uuid

import httpx

from sportello_deploy.fakes.x import webhook_headers
from sportello_deploy.percentiles import nearest_rank


async def webhook_round(ingest_url: str, secret: str, requests: int, concurrency: int) -> dict[str, float]:
    run = uuid.uuid4().hex[:8]
    bodies = [json.dumps({"for_user_id": "bench-brand", "tweet_create_events": [{
        "id_str": f"{run}{n}", "text": "@brand still no refund, third time asking!",
        "timestamp_ms": str(int(time.time() * 1000)), "created_at": "Tue Oct 31 22:10:47 +0000 2017",
        "user": {"id_str": f"{run}-c{n}", "name": "Bench", "screen_name": f"bench{n}", "followers_count": n},
    }]}).encode() for n in range(requests)]
    latencies: list[float] = []
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)

    async def worker(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            body = queue.get_nowait()
            started = time.perf_counter()
            response = await client.post(f"{ingest_url}/v1/channels/x/webhook", content=body,
                                         headers=webhook_headers(secret, body))
            response.raise_for_status()
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    async with httpx.AsyncClient(timeout=30) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    return {"requests_per_s": requests / (time.perf_counter() - started),
            "p50_ms": 1000 * statistics.median(latencies), "p99_ms": 1000 * nearest_rank(latencies, 0.99)}
