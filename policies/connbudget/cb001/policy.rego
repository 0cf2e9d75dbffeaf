# METADATA
# title: A LOGIN role that is not a superuser has no finite CONNECTION LIMIT
# description: >-
#   Fires on a statement that creates the role or says LOGIN, SUPERUSER or CONNECTION LIMIT when,
#   after it, the role has connection_limit -1 (null = unknown: no finding), login not false and
#   superuser not true, and the final state after all scanned statements (not dropped) still has
#   that problem. CREATE USER implies LOGIN; ALTER ROLE x CONNECTION LIMIT -1 on a role created
#   outside the scanned files is flagged. A value that may not hold (`maybe`) counts as possible.
#   One leaking client can then take every slot of the server.
# related_resources:
#   - ref: https://github.com/connbudget/connbudget/blob/main/docs/rules/CB001.md
#     description: CB001 rule page
# custom:
#   id: CB001
#   severity: error
package connbudget.cb001

import data.connbudget.lib.roles

# Worst case over what a conditional statement leaves possible.
unlimited(state) if {
	-1 in roles.possible(state, "connection_limit")
	some login in roles.possible(state, "login")
	login != false
	some superuser in roles.possible(state, "superuser")
	superuser != true
}

deny contains result if {
	roles.touches(["login", "superuser", "connection_limit"])
	roles.resolved(["login", "superuser", "connection_limit"])
	unlimited(input.effective)
	input.final != null
	unlimited(input.final)
	result := roles.finding_with("CB001", "error", message, fix, statement, "connection_limit")
}

message := concat("", [
	"role ", roles.quoted_name, login_phrase, " with no connection limit (CONNECTION LIMIT -1): ",
	"one leaking client can take every connection slot of the server",
])

login_phrase := " can log in" if {
	input.effective.login == true
} else := " may log in (its LOGIN attribute is not in the scanned files)"

sizing := concat("", [
	"50 is a starting point, not a size: these files name no pool that logs in as this role; ",
	"size the limit so that the pool + reserve that log in as it are at most 80 % of it ",
	"(connbudget capacity computes it where it sees the pool, CB107)",
])

statement := concat("", ["ALTER ROLE ", roles.sql_name, " CONNECTION LIMIT 50;"])

fix := concat("", ["set connection_limit = 50 in ", roles.resource, "; ", sizing]) if {
	roles.terraform
} else := concat("", [statement, " -- ", sizing])
