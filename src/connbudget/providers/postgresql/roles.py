"""Roles from Terraform's `postgresql_role` (cyrilgdn/postgresql provider): the LOGIN roles
(or roles whose LOGIN is unknown) and their CONNECTION LIMIT, read as the role rules read them
(provider default `connection_limit` -1)."""

from __future__ import annotations

from connbudget.frontends.terraform.model import TerraformModel
from connbudget.frontends.terraform.roles import role_state
from connbudget.model import Role, unknown
from connbudget.providers.context import BuildContext
from connbudget.providers.tfvalues import number, where_of


def build(parsed: dict[str, TerraformModel], context: BuildContext) -> None:
    for res in parsed["terraform"].by_type("postgresql_role"):
        state = role_state(res)
        if state.name is None or state.login is False:
            continue
        limit = number(res, res.attrs, "connection_limit", (-1, "postgresql_role default -1"))
        if limit.known and state.connection_limit != limit.value:
            limit = unknown(f"{res.address} connection_limit is not an integer", res.file,
                            limit.origin.line)
        context.model.roles.append(Role(state.name, limit, where_of(res)))
