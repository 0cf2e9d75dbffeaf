# METADATA
# title: A plaintext password literal in a migration or in Terraform
# description: >-
#   Fires on a statement whose own password is a plaintext literal (PASSWORD 'secret' in SQL,
#   password = "secret" in Terraform). SCRAM-SHA-256 and md5 hashes, PASSWORD NULL, psql variables
#   and Terraform variable or secret references pass, and so does a SQL statement whose role a
#   later scanned statement gives a password that is no literal (the final state). The literal is
#   never part of the input document (only its class), so it cannot leak into a finding.
# related_resources:
#   - ref: https://github.com/connbudget/connbudget/blob/main/docs/rules/CB004.md
#     description: CB004 rule page
# custom:
#   id: CB004
#   severity: error
package connbudget.cb004

import data.connbudget.lib.roles

deny contains result if {
	input.role.password == "plaintext"
	not cleared
	result := roles.finding_with("CB004", "error", message, fix, statement, "password")
}

# A later statement in the scanned migrations sets the password to NULL, a hash or a variable
# (a migration that ran cannot be edited; the literal must still be rotated).
cleared if {
	not roles.terraform
	input.final.password != "plaintext"
	not "plaintext" in object.get(input.final, ["maybe", "password"], [])
}

statement := concat("", ["ALTER ROLE ", roles.sql_name, " PASSWORD NULL;"])

message := concat("", [
	"role ", roles.quoted_name, " gets a plaintext password literal: it stays in version control, ",
	"CI logs and the server log",
])

fix := concat("", [
	"in ", roles.resource, " use password = var.db_password (a sensitive variable or a secret ",
	"manager reference) or password_wo with an ephemeral value, never a literal",
]) if {
	roles.terraform
} else := concat("", [
	"append ", statement, " to the migration, rotate the password (the literal stays in the ",
	"file's history) and set it out of band (psql: \\password ", roles.sql_name, "), ",
	"or write a SCRAM-SHA-256 hash ",
	"(PASSWORD 'SCRAM-SHA-256$4096:...') or a psql variable (PASSWORD :'app_password')",
])
