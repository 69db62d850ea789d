"""Redis and the RQ queue. Redis is only the doorbell: the database holds the work.

Ingestion commits events first and then rings the doorbell: at most one drain job is queued
at a time (a SET NX flag), and one drain job executes many runs, because RQ's own cost per job
(~5 ms of CPU) would otherwise bound throughput.
"""

from __future__ import annotations

import logging

from flask import current_app
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue

log = logging.getLogger(__name__)

DOORBELL_TTL_S = 30  # a lost drain job delays work by at most this long (the sweeper also rings)


def init_app(app, redis_url: str, queue_name: str) -> None:
    connection = Redis.from_url(redis_url, socket_timeout=5, socket_connect_timeout=2, health_check_interval=30)
    app.extensions["orderflow.redis"] = connection
    app.extensions["orderflow.queue"] = Queue(queue_name, connection=connection)


def _key(name: str) -> str:
    """Our own Redis keys live beside the queue's, so installs sharing a Redis keep apart."""
    return f"orderflow:{queue().name}:{name}"


def redis() -> Redis:
    return current_app.extensions["orderflow.redis"]


def queue() -> Queue:
    return current_app.extensions["orderflow.queue"]


def ring_doorbell(force: bool = False) -> bool:
    """Make sure a drain job is queued. False when Redis is unreachable (the sweeper catches up)."""
    try:
        if force or redis().set(_key("drain-queued"), "1", nx=True, ex=DOORBELL_TTL_S):
            queue().enqueue("runtime.jobs.drain_events", job_timeout=600, result_ttl=0, failure_ttl=86400)
        return True
    except RedisError as exc:
        log.warning("redis unreachable, events stay in the inbox until the sweeper dispatches them: %s", exc)
        return False


def clear_doorbell() -> None:
    redis().delete(_key("drain-queued"))


def enqueue(func: str, *args, at=None, **kwargs) -> bool:
    try:
        if at is not None:
            queue().enqueue_at(at, func, *args, result_ttl=0, failure_ttl=86400, **kwargs)
        else:
            queue().enqueue(func, *args, result_ttl=0, failure_ttl=86400, job_timeout=600, **kwargs)
        return True
    except RedisError as exc:
        log.warning("could not enqueue %s%s: %s", func, args, exc)
        return False


def flows_generation() -> int | None:
    """A counter bumped on every publish/unpublish, so processes can cache active flows."""
    try:
        return int(redis().get(_key("flows-generation")) or 0)
    except RedisError:
        return None


def bump_flows_generation() -> None:
    try:
        redis().incr(_key("flows-generation"))
    except RedisError as exc:
        log.warning("could not bump the flows generation: %s", exc)
