"""Studies of one model under many weight vectors; they return results and write no files.

* :mod:`~allocator.studies.batch`: the fast path, whole posts for a batch of weight vectors.
* :mod:`~allocator.studies.oneway`: a sweep of one weight, and each weight moved down and up.
* :mod:`~allocator.studies.montecarlo`: weight vectors sampled on the simplex, each unit summarised.
* :mod:`~allocator.studies.weights`: weights derived from the data (entropy, CRITIC) or by AHP.
* :mod:`~allocator.studies.pairwise`: the AHP pairwise-comparison matrix, read from a file.

Their files are written by :mod:`allocator.report.studies`.
"""
