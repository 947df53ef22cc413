"""What ``gridbill demo-data`` prints when it is done: what was loaded and how to sign in.

The counts are read back from the database, not taken from the plan, so the summary
reports what was actually written.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.enums import Role
from domain.indian_format import count
from gridbill.settings import Settings

from .bulk import BulkWriter
from .history import History
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
    return ", ".join(f"{count(n)} {name}" for name, n in counts.items())


def _user_line(user: DemoUser, plan: DemoUtility) -> str:
    line = f"  {ROLE_LABELS[user.role]:<13} {user.email:<38} {user.password}"
    if user.customer_number:
        account = next(a for a in plan.accounts if a.customer_number == user.customer_number)
        line += f"  (customer {user.customer_number}, {account.category.value}, account {account.number})"
    return line


def _cycles(plan: DemoUtility) -> str:
    return ", ".join(f"{c.code} (read on day {c.read_day})" for c in plan.cycles)


def render_summary(
    plan: DemoUtility,
    counts: Counts,
    settings: Settings,
    *,
    seed: int,
    elapsed_s: float,
    secret: str,
    history: History,
    served: bool = False,
) -> str:
    first, last = plan.cycles[0].read_dates[0], plan.cycles[-1].read_dates[-1]
    start = "" if served else " (start the server with `gridbill serve`)"
    periods = f"{history.periods[0]} to {history.periods[-1]}" if history.periods else "none"
    lines = [
        f"Loaded the demo utility of {settings.utility_name} (seed {seed}) in {elapsed_s:.1f} s:",
        f"  customers          {count(counts.customers)}, each with an account, premise, service point and meter",
        f"  accounts           {_breakdown(counts.accounts)}",
        f"  meters             {_breakdown(counts.meters)}",
        f"  routes             {counts.routes} in {counts.cycles} billing cycles: {_cycles(plan)}",
        f"  register reads     {count(counts.register_reads)} ({first:%d %b %Y} to {last:%d %b %Y})",
        f"  interval readings  {count(counts.interval_readings)} (15-minute, smart meters)",
        f"  tariffs            {', '.join(t.code for t in plan.tariffs)} from {plan.tariff_effective_from}",
        f"  bills              {count(history.bills)} issued for {periods} ({history.estimated} estimated, "
        f"{count(history.late_fees)} with a late fee), PDFs of the signed-up customers' {history.pdfs} "
        "rendered (the rest on first download)",
        f"  payments           {count(history.counter_payments)} at the counter, "
        f"{count(history.online_payments)} online; unpaid bills are overdue",
        f"  field and support  device {history.device_uid} pushed {history.batch_items} reads "
        f"({history.open_exceptions} open VEE exception(s)); support request {history.support_request}",
        "",
        "Sign in (demo only: these passwords are published, never use them for real data)",
        f"  Open {settings.base_url}/graphql{start}",
        *(_user_line(user, plan) for user in plan.users),
        "  Other customers have no password yet.",
        "",
        "Partner API client (the secret is shown only now: note it down)",
        f"  client_id      {plan.partner.client_id} ({plan.partner.name}, scopes {' '.join(plan.partner.scopes)})",
        f"  client_secret  {secret}",
        "",
        "Field device of the meter reader (the credential is shown only now)",
        f"  device_uid     {history.device_uid}",
        f"  credential     {history.device_credential}",
    ]
    return "\n".join(lines)
