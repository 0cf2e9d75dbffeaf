# METADATA
# title: Role document helpers
# description: >-
#   Predicates shared by the connbudget role policies. Input is one role document as printed by
#   `connbudget sql2json` (statement type = pglast node name) or made by the Terraform front end
#   (statement type postgresql_role): `role` is what the statement says (null = not said),
#   `effective` the role state after it, `final` the state after every scanned statement
#   (null when the role was dropped). A state's `maybe` lists the other values an attribute may
#   have when a statement under an undecided condition may not have run (`maybe.settings` per
#   setting, null = not set); rules take the worst of them.
package connbudget.lib.roles

creates if input.statement.type in {"CreateRoleStmt", "postgresql_role"}

terraform if input.source.format == "terraform"

# The statement creates the role or says one of the attributes.
touches(_) if creates

touches(attributes) if {
	some attribute in attributes
	input.role[attribute] != null
}

# Attributes the Terraform front end could not resolve (an unset variable, a data source):
# a rule that needs one of them says nothing, the way Checkov reports UNKNOWN.
resolved(attributes) if not unresolved_in(attributes)

unresolved_in(attributes) if {
	some attribute in attributes
	attribute in object.get(input, "unresolved", [])
}

# The resource the document describes, as text whatever a hand-written document holds there.
resource := input.resource if {
	is_string(input.resource)
} else := ""

# Every value an attribute of a state may have: its value, and the others a conditional
# statement leaves possible.
possible(state, attribute) := values if {
	is_object(state)
	others := as_array(object.get(as_object(object.get(state, "maybe", {})), attribute, []))
	values := {state[attribute]} | {value | some value in others}
}

# Every value a setting may have (null: not set).
possible_setting(state, setting) := values if {
	is_object(state)
	value := object.get(as_object(object.get(state, "settings", {})), setting, null)
	maybe := as_object(object.get(state, "maybe", {}))
	others := as_array(object.get(as_object(object.get(maybe, "settings", {})), setting, []))
	values := {value} | {other | some other in others}
}

# A value as an object or an array, whatever JSON type a hand-written document holds there.
as_object(value) := value if {
	is_object(value)
} else := {}

as_array(value) := value if {
	is_array(value)
} else := []

name := input.role.name if {
	is_string(input.role.name)
} else := resource

# The role name as a message shows it, the way PostgreSQL's own errors do.
quoted_name := concat("", [`"`, name, `"`])

# The role name as SQL would need it written: as the file writes it when a placeholder gives it
# (psql's :"v" stays a variable), bare when PostgreSQL keeps it as is, quoted otherwise.
sql_name := input.sql_name if {
	is_string(input.sql_name)
} else := name if {
	regex.match(`^[a-z_][a-z0-9_$]*$`, name)
	not name in reserved_words
} else := concat("", [`"`, replace(name, `"`, `""`), `"`])

reserved_words := {
	"all", "analyse", "analyze", "and", "any", "as", "both", "case", "check", "collate", "column",
	"constraint", "create", "current_role", "current_user", "default", "do", "else", "end",
	"for", "from", "grant", "group", "in", "into", "none", "not", "null", "on", "only", "or",
	"order", "public", "role", "select", "session_user", "table", "then", "to", "user", "using",
	"when", "where", "with",
}

# A finding as Conftest shows it: `msg` first, `_loc` as its location, the rest kept as metadata.
finding(rule_id, severity, msg, fix) := {
	"msg": msg,
	"rule_id": rule_id,
	"severity": severity,
	"file": input.source.file,
	"line": input.source.line,
	"_loc": {"file": input.source.file, "line": input.source.line},
	"resource": resource,
	"fix": fix,
}

# A finding of a SQL statement with the statement that, appended to the migration, clears it
# (the rules read the role's final state); statements built at run time (whose role only their
# author knows) carry none. A Terraform finding names the attribute its fix sets, so that a
# role inside a module can be pointed at the module input that feeds it.
finding_with(rule_id, severity, msg, fix, statement, attribute) := object.union(
	finding(rule_id, severity, msg, fix),
	{"append": statement},
) if {
	not terraform
	not input.dynamic
} else := object.union(finding(rule_id, severity, msg, fix), {"attribute": attribute}) if {
	terraform
} else := finding(rule_id, severity, msg, fix)
