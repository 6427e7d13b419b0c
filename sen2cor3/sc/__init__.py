"""Scene classification (SCL), cloud and snow probabilities, Image_Content_QI percentages."""
from .classify import SceneClassification, classify
from .masks import downsample_scl_20_to_60, upsample_nearest
from .qi import scl_percentages

__all__ = ["SceneClassification", "classify", "scl_percentages", "downsample_scl_20_to_60",
           "upsample_nearest"]
