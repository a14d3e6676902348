from django import template

register = template.Library()

# overlay.REGIONS in words, for the heatmap's text alternative.
REGION_WORDS = {"top_left": "the upper left", "top": "the top", "top_right": "the upper right",
                "left": "the left side", "centre": "the centre", "right": "the right side",
                "bottom_left": "the lower left", "bottom": "the bottom", "bottom_right": "the lower right"}


@register.filter
def percent(probability):
    """0.1234 -> '12.3%'."""
    return f"{100 * float(probability):.1f}%"


@register.filter
def heatmap_alt(focus):
    """The heatmap's text alternative: which part of the photo drove the prediction (overlay.heatmap_focus)."""
    if not focus:
        return "Grad-CAM heatmap over the photo: no part of the photo stood out for the prediction."
    return (f"Grad-CAM heatmap over the photo: what drove the prediction lies in {REGION_WORDS[focus['region']]} "
            f"of the photo, shown in warm colours over about {max(5, round(focus['share'] * 20) * 5)}% of it.")
