// Go's regexp package, which Terraform's replace(), regex() and regexall() use, on the cases
// read from stdin as JSON; results shaped as Terraform (go-cty's stdlib) shapes them.
package main

import (
	"encoding/json"
	"os"
	"regexp"
)

type testCase struct {
	Pattern     string `json:"pattern"`
	Subject     string `json:"subject"`
	Replacement string `json:"replacement"`
}

// result is one match: the whole text without groups, a list of the groups (null when a
// group did not take part), or a map of them when the groups are named.
func result(re *regexp.Regexp, subject string, idx []int) any {
	names := re.SubexpNames()[1:]
	if len(names) == 0 {
		return subject[idx[0]:idx[1]]
	}
	named := names[0] != ""
	list := []any{}
	object := map[string]any{}
	for i, name := range names {
		var value any
		if idx[2*i+2] >= 0 {
			value = subject[idx[2*i+2]:idx[2*i+3]]
		}
		if (name != "") != named {
			return "mixed"
		}
		list = append(list, value)
		object[name] = value
	}
	if named {
		return object
	}
	return list
}

func main() {
	var cases []testCase
	if err := json.NewDecoder(os.Stdin).Decode(&cases); err != nil {
		panic(err)
	}
	out := []map[string]any{}
	for _, c := range cases {
		re, err := regexp.Compile(c.Pattern)
		if err != nil {
			out = append(out, map[string]any{"invalid": true})
			continue
		}
		matches := []any{}
		for _, idx := range re.FindAllStringSubmatchIndex(c.Subject, -1) {
			matches = append(matches, result(re, c.Subject, idx))
		}
		out = append(out, map[string]any{
			"replaced": re.ReplaceAllString(c.Subject, c.Replacement),
			"matches":  matches,
		})
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		panic(err)
	}
}
