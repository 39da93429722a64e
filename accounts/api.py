"""REST API of accounts: token sign-in for mobile clients, sign-up, and the caller's profile."""

from __future__ import annotations

from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import services
from accounts.authentication import TokenAuthentication


class UserOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    email = serializers.EmailField()
    date_joined = serializers.DateTimeField()


class TokenOutputSerializer(serializers.Serializer):
    token = serializers.CharField(source="key")
    user = UserOutputSerializer()


class AuthTokenApi(APIView):
    """``POST``: trade a username and password for an API token. ``DELETE``: revoke it.

    Both operations act on the same resource (the caller's token), so they share a URL and
    this class; each method is one service call.
    """

    # Token only: a browser session must not obtain tokens through a CSRF-free endpoint.
    authentication_classes = [TokenAuthentication]
    throttle_scope = "auth"

    class InputSerializer(serializers.Serializer):
        username = serializers.CharField()
        password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)

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
        if user is None:
            raise serializers.ValidationError(
                "Unable to log in with that username and password.", code="invalid_credentials"
            )
        token = services.api_token_obtain(user=user)
        return Response(TokenOutputSerializer(token).data)

    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Request) -> Response:
        services.api_token_revoke(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class SignupApi(APIView):
    """Create an account and return its API token."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_scope = "signup"  # per address, the sign-up page's budget (accounts/limits.py)

    class InputSerializer(serializers.Serializer):
        username = serializers.CharField(max_length=150)
        email = serializers.EmailField()
        password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)

        class Meta:
            ref_name = "SignupInput"

    @extend_schema(request=InputSerializer, responses={201: TokenOutputSerializer})
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            user = services.user_create(**data.validated_data)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from exc
        token = services.api_token_obtain(user=user)
        return Response(TokenOutputSerializer(token).data, status=status.HTTP_201_CREATED)


class MeApi(APIView):
    """The signed-in caller's profile."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: UserOutputSerializer})
    def get(self, request: Request) -> Response:
        return Response(UserOutputSerializer(request.user).data)
