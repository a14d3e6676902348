from django import template

register = template.Library()


@register.filter
def percent(probability):
    """0.1234 -> '12.3%', with a point whatever the locale (it also goes into CSS widths)."""
    return f"{100 * float(probability):.1f}%"
