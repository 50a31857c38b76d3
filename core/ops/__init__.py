"""Operations: the retention policy (`retention`), monthly partitions of the big tables (`partitions`),
and the daily maintenance schedule that applies them (`maintenance`)."""
