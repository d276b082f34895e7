"""The JSON contract the issues name, shared by the CLI and API tests."""

# Every search or ask hit: the clause fields of the corpus issue plus the retrieval issue's additions.
CLAUSE_FIELDS = frozenset({"id", "doc_id", "number", "path", "text", "lines", "doc"})
HIT_FIELDS = CLAUSE_FIELDS | {"score", "retrievers", "citation", "highlights", "answer_sentences", "role"}
