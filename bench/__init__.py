"""The benchmark behind `policyqa bench`: BM25 peers, real vectors, the service with the model on."""
