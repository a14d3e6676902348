from django import template
from django.utils import formats
from django.utils.translation import gettext, gettext_lazy as _

from Dermal.inference.words import decimal

register = template.Library()

# overlay.REGIONS in words, for the heatmap's text alternative.
REGION_WORDS = {"top_left": _("the upper left"), "top": _("the top"), "top_right": _("the upper right"),
                "left": _("the left side"), "centre": _("the centre"), "right": _("the right side"),
                "bottom_left": _("the lower left"), "bottom": _("the bottom"), "bottom_right": _("the lower right")}


@register.filter
def percent(probability, decimals=1):
    """0.1234 -> '12.3%' ('12,3%' in Vietnamese: the active language's decimal separator); `decimals` after it."""
    return f"{formats.number_format(decimal(100 * float(probability), decimals), decimals)}%"  # rounded: it cuts


@register.filter
def heatmap_alt(focus):
    """The heatmap's text alternative: which part of the photo drove the prediction (overlay.heatmap_focus)."""
    if not focus:
        return gettext("Grad-CAM heatmap over the photo: no part of the photo stood out for the prediction.")
    return gettext("Grad-CAM heatmap over the photo: what drove the prediction lies in %(region)s of the photo, "
                   "shown in warm colours over about %(share)s%% of it.") % {
        "region": REGION_WORDS[focus["region"]], "share": max(5, round(focus["share"] * 20) * 5)}
