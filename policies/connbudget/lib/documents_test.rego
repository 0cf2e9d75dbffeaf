# METADATA
# title: Role documents for the policy tests
# description: Builds role documents shaped like `connbudget sql2json` and Terraform front end output.
package connbudget.lib.documents_test

# A role state: effective (after the statement) or final (after every scanned statement).
state(login, superuser, limit) := {
	"login": login,
	"superuser": superuser,
	"connection_limit": limit,
	"known": true,
	"settings": {},
}

with_settings(s, settings) := object.union(s, {"settings": settings})

unknown(s) := object.union(s, {"known": false})

idle_timeout := {"idle_in_transaction_session_timeout": "60s"}

said_nothing := {"name": "appuser", "login": null, "superuser": null, "connection_limit": null, "password": null}

# A SQL statement on role appuser at V1__roles.sql:3; `said` is what the statement itself says.
sql(type, said, effective, final) := {
	"kind": "role_statement",
	"source": {"file": "db/V1__roles.sql", "line": 3, "column": 1, "format": "sql"},
	"resource": "appuser",
	"statement": {"type": type, "role": "appuser", "options": []},
	"role": object.union(said_nothing, said),
	"effective": effective,
	"final": final,
}

# A Terraform postgresql_role resource; its state is the same before and after.
terraform(s, password) := {
	"kind": "role_statement",
	"source": {"file": "roles.tf", "line": 1, "column": 1, "format": "terraform", "end_line": 6},
	"resource": "postgresql_role.app",
	"statement": {"type": "postgresql_role", "role": "app", "options": []},
	"role": object.union(object.union(said_nothing, s), {"name": "app", "password": password}),
	"effective": s,
	"final": s,
}

# A Terraform resource whose attributes in `names` could not be resolved (null, listed as such).
terraform_unresolved(s, names) := object.union(terraform(s, null), {"unresolved": names})
