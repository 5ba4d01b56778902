"""Self-contained HTML reports of training, evaluation and comparison, and the metrics as JSON.

Figures are drawn with matplotlib's Agg canvas directly (no pyplot), so making a report never
switches the plotting backend of the process that calls it (QGIS among them), and are embedded as
base64 PNG so one file can be mailed or archived without losing its pictures.
"""

from .comparison import write_comparison_report
from .evaluation import write_evaluation_report
from .kit import write_metrics_json
from .training import write_training_report

__all__ = ["write_comparison_report", "write_evaluation_report", "write_metrics_json", "write_training_report"]
