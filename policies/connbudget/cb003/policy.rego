# METADATA
# title: "A LOGIN role is SUPERUSER: it ignores CONNECTION LIMIT and can take the reserved slots"
# description: >-
#   Fires on a statement that creates the role or says LOGIN or SUPERUSER when, after it, the role
#   has login true and superuser true, and the final state after all scanned statements still has
#   both (a later NOSUPERUSER or NOLOGIN clears it). Superusers ignore CONNECTION LIMIT and may use
#   the slots reserved by superuser_reserved_connections.
# related_resources:
#   - ref: https://github.com/connbudget/connbudget/blob/main/docs/rules/CB003.md
#     description: CB003 rule page
# custom:
#   id: CB003
#   severity: warning
package connbudget.cb003

import data.connbudget.lib.roles

login_superuser(state) if {
	true in roles.possible(state, "login")
	true in roles.possible(state, "superuser")
}

warn contains result if {
	roles.touches(["login", "superuser"])
	login_superuser(input.effective)
	input.final != null
	login_superuser(input.final)
	result := roles.finding_with("CB003", "warning", message, fix, statement, "superuser")
}

message := concat("", [
	"role ", roles.quoted_name, " can log in and is SUPERUSER: it ignores CONNECTION LIMIT ",
	"and can take the slots reserved for administrators",
])

advice := "grant the application only the privileges it needs and keep superuser for an operator account"

fix := concat("", ["set superuser = false in ", roles.resource, "; ", advice]) if {
	roles.terraform
} else := concat("", [statement, " -- ", advice])

statement := concat("", ["ALTER ROLE ", roles.sql_name, " NOSUPERUSER;"])
