"""REST API of accounts: token sign-in for mobile clients (one token per device), the signed-in
devices, sign-up, the caller's profile, their data export and their account's deletion."""

from __future__ import annotations

from django.contrib.auth import authenticate, logout
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import renderers, serializers, status
from rest_framework.exceptions import AuthenticationFailed, NotFound
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import deletion, selectors, services
from accounts.authentication import TokenAuthentication
from accounts.export import export_build, export_filename
from accounts.forms import AccountDeleteForm
from accounts.models import ApiToken
from musicsite.api import InputCharField


class UserOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    email = serializers.CharField(help_text="An e-mail address, or empty when none was given")
    date_joined = serializers.DateTimeField()


class DeviceOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(help_text="As the client named it at sign-in")
    created = serializers.DateTimeField(help_text="When the device signed in")
    last_used = serializers.DateTimeField(
        source="last_used_at",
        allow_null=True,
        help_text="Recorded at most every API_TOKEN_REFRESH_SECONDS; null before first use",
    )
    expires = serializers.DateTimeField(
        source="expiry", help_text="Moves on with each use (API_TOKEN_IDLE_DAYS), up to a cap"
    )
    current = serializers.SerializerMethodField(help_text="The token of this request")

    def get_current(self, token: ApiToken) -> bool:
        auth = self.context.get("auth")
        return isinstance(auth, ApiToken) and auth.pk == token.pk


class TokenOutputSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Send as `Authorization: Token <token>`; shown once")
    expires = serializers.DateTimeField(source="device.expiry")
    device = DeviceOutputSerializer()
    user = UserOutputSerializer(source="device.user")


def _token_response(device: ApiToken, token: str, status_code: int = 200) -> Response:
    data = TokenOutputSerializer({"token": token, "device": device}, context={"auth": device}).data
    return Response(data, status=status_code)


def _device_name(request: Request, given: str) -> str:
    return given or services.device_name_default(user_agent=request.META.get("HTTP_USER_AGENT", ""))


class DeviceField(InputCharField):
    def __init__(self, **kwargs):
        super().__init__(
            required=False,
            allow_blank=True,
            max_length=services.DEVICE_NAME_MAX_LENGTH,
            help_text="This device's name, e.g. \"Anna's Pixel 8\" (default: the User-Agent). "
            "Signing in again with the same name replaces that device's token.",
            **kwargs,
        )


class AuthTokenApi(APIView):
    """``POST``: trade a username and password for this device's API token. ``DELETE``: revoke
    the token of the request (this device signs out; the others stay signed in).

    Both operations act on the same resource (the caller's token), so they share a URL and
    this class; each method is one service call.
    """

    # Token only: a browser session must not obtain tokens through a CSRF-free endpoint.
    authentication_classes = [TokenAuthentication]
    throttle_scope = "auth"

    class InputSerializer(serializers.Serializer):
        # Blank once trimmed (spaces only) is a name no account has: 401, like a wrong one.
        username = InputCharField(allow_blank=True)
        password = InputCharField(style={"input_type": "password"}, trim_whitespace=False)
        device = DeviceField()

        class Meta:
            ref_name = "AuthTokenInput"

    def get_permissions(self):
        if self.request.method == "DELETE":
            return [IsAuthenticated()]
        return [AllowAny()]

    @extend_schema(request=InputSerializer, responses={200: TokenOutputSerializer})
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = authenticate(
            request._request,
            username=data.validated_data["username"],
            password=data.validated_data["password"],
        )
        if user is None:  # 401, as for a refused token: the app asks for the password again
            raise AuthenticationFailed(
                "Unable to log in with that username and password.", code="invalid_credentials"
            )
        device, token = services.api_token_create(
            user=user, device=_device_name(request, data.validated_data.get("device", ""))
        )
        return _token_response(device, token)

    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Request) -> Response:
        services.api_token_revoke(user=request.user, device_id=request.auth.pk)
        return Response(status=status.HTTP_204_NO_CONTENT)


class DeviceListApi(APIView):
    """The caller's signed-in devices (one API token each), the most recently used first."""

    permission_classes = [IsAuthenticated]

    class OutputSerializer(serializers.Serializer):
        results = DeviceOutputSerializer(many=True)

        class Meta:
            ref_name = "DeviceList"

    @extend_schema(responses={200: OutputSerializer})
    def get(self, request: Request) -> Response:
        devices = selectors.api_tokens_of(user=request.user)
        data = self.OutputSerializer({"results": devices}, context={"auth": request.auth}).data
        return Response(data)


class DeviceRevokeApi(APIView):
    """Sign one of the caller's devices out (its token stops working); 404 if not theirs."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Request, pk: int) -> Response:
        if not services.api_token_revoke(user=request.user, device_id=pk):
            raise NotFound("You have no signed-in device with that id.")
        return Response(status=status.HTTP_204_NO_CONTENT)


class SignupApi(APIView):
    """Create an account and return the API token of the device that signed up."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_scope = "signup"  # per address, the sign-up page's budget (accounts/limits.py)

    class InputSerializer(serializers.Serializer):
        username = InputCharField(max_length=150)
        email = serializers.EmailField()
        password = InputCharField(style={"input_type": "password"}, trim_whitespace=False)
        device = DeviceField()

        class Meta:
            ref_name = "SignupInput"

    @extend_schema(request=InputSerializer, responses={201: TokenOutputSerializer})
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        name = _device_name(request, fields.pop("device", ""))
        try:
            user = services.user_create(**fields)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from exc
        device, token = services.api_token_create(user=user, device=name)
        return _token_response(device, token, status.HTTP_201_CREATED)


ACCOUNT_DELETE_DESCRIPTION = """Delete the caller's account and all its data, confirmed with \
the account's password (the account-deletion page's rule and service). This cannot be undone.

**Deleted:** the account and its profile; every listen in the history; stars, likes and "not \
interested" marks; listening settings and tastes; the pieces generated for the listener with \
their MIDI, audio and piano-roll files; the "make me a song" requests; playlists; every \
signed-in device (all API tokens stop working: 401 afterwards).

**Kept:** the public catalogue (pieces the listener played or rated stay for everyone else) \
and other listeners' data.

Download the data first with `GET /api/v1/me/export/` to keep it. A wrong or missing password \
is a 400 naming the `password` field, and nothing is deleted. Attempts spend from the sign-in \
budget (`auth`, 60 a minute by default): a 429 after that."""


class MeApi(APIView):
    """``GET``: the signed-in caller's profile. ``DELETE``: delete the account and all its data."""

    permission_classes = [IsAuthenticated]
    delete_has_body = True  # the password (musicsite/api_schema.py documents it)

    @property
    def throttle_scope(self) -> str | None:
        """A wrong password is a guess: a deletion spends from the sign-in budget (``auth``)."""
        return "auth" if self.request.method == "DELETE" else None

    class DeleteInputSerializer(serializers.Serializer):
        password = InputCharField(
            style={"input_type": "password"},
            trim_whitespace=False,
            help_text="The account's password, to confirm the deletion",
        )

    @extend_schema(responses={200: UserOutputSerializer})
    def get(self, request: Request) -> Response:
        return Response(UserOutputSerializer(request.user).data)

    @extend_schema(
        summary="Delete the account and all its data",
        description=ACCOUNT_DELETE_DESCRIPTION,
        request=DeleteInputSerializer,
        responses={204: None},
    )
    def delete(self, request: Request) -> Response:
        data = self.DeleteInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        form = AccountDeleteForm(data.validated_data, user=request.user)
        if not form.is_valid():  # the page's rule: not the account's password
            raise DjangoValidationError(form.errors.as_data())
        user = request.user
        if request.auth is None:  # a browser session: signed out first, as the page does
            logout(request._request)
        deletion.account_delete(user=user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ZipRenderer(renderers.BaseRenderer):
    """Lets a client ask for ``Accept: application/zip``; the zip itself is a FileResponse."""

    media_type = "application/zip"
    format = "zip"
    charset = None
    render_style = "binary"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        return data if isinstance(data, bytes) else b""


class MeExportApi(APIView):
    """Everything the site holds about the caller, as the data-export page's zip."""

    permission_classes = [IsAuthenticated]
    renderer_classes = [*APIView.renderer_classes, ZipRenderer]  # errors stay JSON

    @extend_schema(
        summary="Download the account's data",
        description="The data-export page's zip, built by the same service: README.txt, "
        "profile.json, listens, ratings and likes (JSON and CSV), the generated pieces with "
        "their MIDI files, the song requests, playlists and signed-in devices (never a token). "
        "Sent as an attachment (`Content-Disposition: attachment; "
        'filename="musicsite-<username>-<YYYYMMDD>.zip"`).',
        responses={
            (200, "application/zip"): OpenApiResponse(OpenApiTypes.BINARY, description="The zip")
        },
    )
    def get(self, request: Request) -> FileResponse:
        archive = export_build(user=request.user)
        name = export_filename(user=request.user)
        return FileResponse(
            archive, as_attachment=True, filename=name, content_type=ZipRenderer.media_type
        )

    def finalize_response(self, request: Request, response, *args, **kwargs):
        """Errors in the API's JSON format even to a client that asked for the zip only."""
        if isinstance(getattr(request, "accepted_renderer", None), ZipRenderer):
            request.accepted_renderer = self.renderer_classes[0]()
            request.accepted_media_type = request.accepted_renderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)
