"""Domain adaptation of a trained retriever: continued hybrid training on target-domain parallel text and TSDAE mixed with hybrid batches."""
