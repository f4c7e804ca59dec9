"""Input normalisation constants shared by deployment, inference and hub folders (the timm
models use timm's own copies of the same values)."""

IMAGENET_MEAN = (0.485, 0.456, 0.406)
"""Per-channel RGB mean of ImageNet-1k on 0-1 pixels (torchvision's and timm's default)."""
IMAGENET_STD = (0.229, 0.224, 0.225)
"""Per-channel RGB standard deviation of ImageNet-1k on 0-1 pixels."""
