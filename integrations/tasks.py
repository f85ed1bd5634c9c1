"""The integrations' Celery tasks (queue `default`): thin, each enters the organization's
context and calls one service. Acknowledged late (the project's setting): a worker that dies
mid-task has it run again, and each service is safe to run twice (a handled delivery is
skipped; a comment already made is not made again)."""

from __future__ import annotations

from celery import shared_task

from tenants.tenancy import tenant_context

from . import services


@shared_task(ignore_result=True)
def handle_delivery(delivery_id: str, organization_id: str) -> None:
    with tenant_context(organization_id):
        services.handle_delivery(delivery_id=delivery_id)


@shared_task(ignore_result=True)
def post_start_comment(thread_id: str, organization_id: str) -> None:
    with tenant_context(organization_id):
        services.post_start_comment(thread_id=thread_id)


@shared_task(ignore_result=True)
def finish_turn(thread_id: str, organization_id: str, turn: dict) -> None:
    with tenant_context(organization_id):
        services.finish_turn(thread_id=thread_id, turn=turn)
