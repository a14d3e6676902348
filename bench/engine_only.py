"""A WSGI application with DermAI's engine and no Django, for bench/cold_start.py: what a cold start costs without
the web framework (Python, Gunicorn, NumPy, Pillow, LiteRT and the model), served by render.yaml's same line.

GET answers 200 at once (the health check). POST analyses its body, a photo, as the API does (Grad-CAM and flip
averaging as the environment sets them, the lossless overlay encoded) and answers its probabilities and referral.
Never part of the service: the web process serves dermai.wsgi.
"""
import json


def application(environ, start_response):
    if environ["REQUEST_METHOD"] != "POST":
        return _answer(start_response, {"status": "ok"})
    from Dermal.AI_detection import predict_skin_simple

    photo = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    result = predict_skin_simple(photo)
    return _answer(start_response, {"probabilities": result.probabilities, "referral": result.referral,
                                    "overlay_png_bytes": len(result.overlay_png or b"")})


def _answer(start_response, document):
    body = json.dumps(document).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
