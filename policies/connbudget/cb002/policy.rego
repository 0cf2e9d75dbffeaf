# METADATA
# title: A LOGIN role has CONNECTION LIMIT 0 and can never connect
# description: >-
#   Fires on a statement that creates the role or says LOGIN or CONNECTION LIMIT when, after it,
#   the role has login true and connection_limit 0, and the final state after all scanned
#   statements is still a LOGIN role with limit 0. Every connection attempt fails with
#   "too many connections for role"; NOLOGIN says "must not connect" honestly.
# related_resources:
#   - ref: https://github.com/connbudget/connbudget/blob/main/docs/rules/CB002.md
#     description: CB002 rule page
# custom:
#   id: CB002
#   severity: warning
package connbudget.cb002

import data.connbudget.lib.roles

locked_out(state) if {
	true in roles.possible(state, "login")
	0 in roles.possible(state, "connection_limit")
}

warn contains result if {
	roles.touches(["login", "connection_limit"])
	locked_out(input.effective)
	input.final != null
	locked_out(input.final)
	result := roles.finding_with("CB002", "warning", message, fix, statement, "connection_limit")
}

message := concat("", [
	"role ", roles.quoted_name, " can log in but has CONNECTION LIMIT 0: ",
	"every connection attempt fails with \"too many connections for role\"",
])

fix := concat("", [
	"in ", roles.resource, " set login = false if the role must not connect, or connection_limit = 50 ",
	"(pool + reserve + admin headroom) if it must",
]) if {
	roles.terraform
} else := concat("", [
	statement, " if the role must not connect, or ALTER ROLE ",
	roles.sql_name, " CONNECTION LIMIT 50; (pool + reserve + admin headroom) if it must",
])

statement := concat("", ["ALTER ROLE ", roles.sql_name, " NOLOGIN;"])
