"""Report stage: confusability per distractor strategy vs the paper, agent success, context
lengths and a retrieval-difficulty proxy (:func:`longtracerl.report.stage.write_report`).

See docs/report.md.
"""
