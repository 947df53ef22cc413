"""What ``gridbill demo-data`` prints when it is done: what was loaded and how to sign in.

The counts are read back from the database, not taken from the plan, so the summary
reports what was actually written.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.enums import Role
from gridbill.settings import Settings

from .bulk import BulkWriter
from .plan import DemoUser, DemoUtility

ROLE_LABELS = {
    Role.ADMIN: "admin",
    Role.STAFF: "staff",
    Role.METER_READER: "meter reader",
    Role.CUSTOMER: "customer",
}


@dataclass(frozen=True, slots=True)
class Counts:
    customers: int
    accounts: dict[str, int]
    meters: dict[str, int]
    routes: int
    cycles: int
    register_reads: int
    interval_readings: int

    @classmethod
    async def of(cls, writer: BulkWriter) -> Counts:
        return cls(
            customers=await writer.count("customers"),
            accounts=await writer.grouped("accounts", "category"),
            meters=await writer.grouped("meters", "kind"),
            routes=await writer.count("routes"),
            cycles=await writer.count("billing_cycles"),
            register_reads=await writer.count("register_reads"),
            interval_readings=await writer.count("interval_readings"),
        )


def _breakdown(counts: dict[str, int]) -> str:
    return ", ".join(f"{n:,} {name}" for name, n in counts.items())


def _user_line(user: DemoUser, plan: DemoUtility) -> str:
    line = f"  {ROLE_LABELS[user.role]:<13} {user.email:<38} {user.password}"
    if user.customer_number:
        account = next(a for a in plan.accounts if a.customer_number == user.customer_number)
        line += f"  (customer {user.customer_number}, {account.category.value}, account {account.number})"
    return line


def render_summary(
    plan: DemoUtility,
    counts: Counts,
    settings: Settings,
    *,
    seed: int,
    elapsed_s: float,
    secret: str,
) -> str:
    first, last = plan.cycles[0].read_dates[0], plan.cycles[-1].read_dates[-1]
    lines = [
        f"Loaded the demo utility of {settings.utility_name} (seed {seed}) in {elapsed_s:.1f} s:",
        f"  customers          {counts.customers:,}, each with an account, premise, service point and meter",
        f"  accounts           {_breakdown(counts.accounts)}",
        f"  meters             {_breakdown(counts.meters)}",
        f"  routes             {counts.routes} in {counts.cycles} billing cycles",
        f"  register reads     {counts.register_reads:,} ({first:%d %b %Y} to {last:%d %b %Y})",
        f"  interval readings  {counts.interval_readings:,} (15-minute, smart meters)",
        f"  tariffs            {', '.join(t.code for t in plan.tariffs)} from {plan.tariff_effective_from}",
        "",
        "Sign in (demo only: these passwords are published, never use them for real data)",
        f"  Open {settings.base_url}/graphql (start the server with `gridbill serve`)",
        *(_user_line(user, plan) for user in plan.users),
        "  Other customers have no password yet.",
        "",
        "Partner API client (the secret is shown only now: note it down)",
        f"  client_id      {plan.partner.client_id} ({plan.partner.name}, scopes {' '.join(plan.partner.scopes)})",
        f"  client_secret  {secret}",
    ]
    return "\n".join(lines)
