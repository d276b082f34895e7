"""Service layer between the engine and its surfaces (the API, the command line): building an index from a
corpus folder, adding and removing documents, holding and swapping the live engine."""
