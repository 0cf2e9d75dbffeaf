# METADATA
# title: A LOGIN role sets no idle_in_transaction_session_timeout
# description: >-
#   Fires on a statement that creates the role or says LOGIN (login true) when the final state
#   after all scanned statements is a LOGIN role whose settings have no
#   idle_in_transaction_session_timeout, or have it at "0" (0 disables it). A later
#   ALTER ROLE ... SET idle_in_transaction_session_timeout clears it, unless it may not have run
#   (a setting in the state's `maybe`). Sessions left idle in a
#   transaction hold their connection slot and their locks until the timeout ends them.
# related_resources:
#   - ref: https://github.com/connbudget/connbudget/blob/main/docs/rules/CB005.md
#     description: CB005 rule page
# custom:
#   id: CB005
#   severity: info
package connbudget.cb005

import data.connbudget.lib.roles

logs_in if roles.creates

logs_in if input.role.login == true

# Set, and not disabled, whichever conditional statements ran.
has_idle_timeout(state) if not lacks_idle_timeout(state)

lacks_idle_timeout(state) if {
	some value in roles.possible_setting(state, "idle_in_transaction_session_timeout")
	not enabled(value)
}

enabled(value) if {
	value != null
	not disabled(value)
}

# 0 in any unit turns the timeout off.
disabled(value) if value == 0

disabled(value) if {
	is_string(value)
	regex.match(`^\s*0+\s*(us|ms|s|min|h|d)?\s*$`, value)
}

warn contains result if {
	logs_in
	true in roles.possible(input.final, "login")
	roles.resolved(["idle_in_transaction_session_timeout"])
	not has_idle_timeout(input.final)
	found := roles.finding_with("CB005", "info", message, fix, statement, attribute)
	result := object.union(found, insertion)
}

message := concat("", [
	"role ", roles.quoted_name, " can log in and sets no idle_in_transaction_session_timeout: ",
	"a session left idle in a transaction holds its connection slot until someone kills it",
])

fix := concat("", [
	"set idle_in_transaction_session_timeout = 60000 (milliseconds) in ", roles.resource,
]) if {
	roles.terraform
} else := statement

statement := concat("", [
	"ALTER ROLE ", roles.sql_name, " SET idle_in_transaction_session_timeout = '60s';",
])

# A Terraform role that leaves the attribute out gets it as the first line of its block.
insertion := {"insert": "idle_in_transaction_session_timeout = 60000"} if {
	roles.terraform
	is_object(input.role)
	settings := object.get(input.role, "settings", {})
	is_object(settings)
	not "idle_in_transaction_session_timeout" in object.keys(settings)
} else := {}

attribute := "idle_in_transaction_session_timeout"
