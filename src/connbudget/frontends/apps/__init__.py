"""Application configuration: the pool sizes and server concurrency that Rails, Spring Boot,
Python, Node and Go applications declare in their own files, and the Dockerfiles that say what
an image built in the repository runs.

`claims` says which files each family reads (imported by the input-kind registry, so it imports
no parser); each family's module reads them; `read` groups what they declare by application
directory and is each input kind's front end. Parsers (tree-sitter grammars,
dockerfile-parse) are imported only when a file of their kind is read.
"""
