"""Make PIL images visible in the cell output instead of opening a desktop viewer.

``Image.show()`` displays the image as an ``image/png`` result (there is no
display server in the sandbox). ``Image.save(<str path>)`` also displays the
saved image, as E2B's kernel profile does, except when matplotlib is the caller
(``savefig`` writes PNGs through PIL and would otherwise print every saved figure).
"""

import base64
import io
import sys

_PATCHED_FLAG = "_cellblock_patched"
# Modes PNG can store directly; anything else is converted first.
_PNG_MODES = {"1", "L", "LA", "I", "P", "RGB", "RGBA", "I;16"}


def _png_bundle(image):
    picture = image if image.mode in _PNG_MODES else image.convert("RGBA")
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    text = f"<PIL.Image.Image image mode={image.mode} size={image.size[0]}x{image.size[1]}>"
    return {"image/png": encoded, "text/plain": text}


def display_image(image):
    """Publish ``image`` as a display_data with image/png; never raises."""
    try:
        from IPython.display import display

        display(_png_bundle(image), raw=True)
    except Exception:  # noqa: BLE001 - showing an image must not break the cell
        pass


def _called_from_matplotlib():
    frame = sys._getframe(2)
    module = frame.f_globals.get("__name__", "") if frame is not None else ""
    return module == "matplotlib" or module.startswith("matplotlib.")


def patch_pil():
    """Patch PIL.Image.Image.show/save once; returns False when PIL is missing."""
    try:
        from PIL import Image
    except Exception:  # noqa: BLE001 - PIL is optional
        return False
    image_class = Image.Image
    if getattr(image_class, _PATCHED_FLAG, False):
        return True
    original_save = image_class.save

    def show(self, title=None):  # noqa: ARG001 - keeps PIL's signature
        display_image(self)

    def save(self, fp, format=None, **params):  # noqa: A002 - PIL's parameter name
        result = original_save(self, fp, format, **params)
        if isinstance(fp, str) and not _called_from_matplotlib():
            display_image(self)
        return result

    show.__doc__ = "Display the image in the cell output (cellblock kernel)."
    save.__doc__ = original_save.__doc__
    image_class.show = show
    image_class.save = save
    setattr(image_class, _PATCHED_FLAG, True)
    return True
