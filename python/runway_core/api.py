"""Every operation of Runway's API as a typed async method: `client.api.routers.create(slug=...)`.

Generated from the catalogue by tests/scripts/gen_api.py: do not edit by hand. Keyword arguments
are Runway's own field names (`from_` stands for `from`); an argument left at UNSET is not sent,
and None sends null where Runway takes it (to clear a field). Requests are checked against the
catalogue before anything is sent; lists are async iterators that follow Runway's cursors;
task-creating operations return a Task and are journaled like `Client.create_task`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, AsyncIterator, Dict, List, Literal, Union

if TYPE_CHECKING:
    from . import Client
    from ._core import Task


class Unset:
    """The default of an optional argument: the field is left out of the request."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET = Unset()


def _given(**fields: Any) -> Dict[str, Any]:
    return {k[:-1] if k.endswith("_") else k: v for k, v in fields.items() if not isinstance(v, Unset)}


class _Namespace:
    __slots__ = ("_client",)

    def __init__(self, client: "Client") -> None:
        self._client = client


class OrganizationWebappAuditLogs(_Namespace):
    """`organization.webapp.audit_logs` operations."""

    def list(
        self,
        *,
        actions: Union[List[str], Unset] = UNSET,
        actorEmails: Union[List[str], Unset] = UNSET,
        cursor: Union[str, Unset] = UNSET,
        from_: Union[str, Unset] = UNSET,
        limit: Union[int, Unset] = UNSET,
        organizationId: Union[str, Unset] = UNSET,
        to: Union[str, Unset] = UNSET,
        workspaceIds: Union[List[str], Unset] = UNSET,
    ) -> AsyncIterator[Dict[str, Any]]:
        """Audit log of the linked web-app workspaces.
        actions: Audit actions (e.g. UserLogin); sent comma-joined.
        actorEmails: Emails of the acting users; sent comma-joined.
        cursor: nextCursor of the previous page.
        from_: Window start (inclusive), ISO-8601 datetime.
        limit: Items per page.
        organizationId: Needed when the project is linked to several organizations.
        to: Window end (exclusive), ISO-8601 datetime.
        workspaceIds: Workspace ids; sent comma-joined. Default: all you administer."""
        return self._client.iterate("organization.webapp.audit_logs.list", {}, _given(actions=actions, actorEmails=actorEmails, cursor=cursor, from_=from_, limit=limit, organizationId=organizationId, to=to, workspaceIds=workspaceIds))

    async def retrieve(self, event_id: str, *, organizationId: Union[str, Unset] = UNSET) -> Dict[str, Any]:
        """One audit log entry with its details.
        organizationId: Needed when the project is linked to several organizations."""
        answer: Dict[str, Any] = await self._client.call("organization.webapp.audit_logs.retrieve", {"event_id": event_id}, _given(organizationId=organizationId))
        return answer


class GenerateAudio(_Namespace):
    """`generate.audio` operations."""

    async def create(self, *, configId: str, input: Dict[str, Any], force_new: bool = False) -> Task:
        """Speech or audio through a Model Router, which picks the model.
        configId: The router's slug (or id) from /v1/routers.
        input: Model-agnostic audio input."""
        task: Task = await self._client.call("generate.audio.create", body=_given(configId=configId, input=input), force_new=force_new)
        return task


class GenerateImage(_Namespace):
    """`generate.image` operations."""

    async def create(self, *, configId: str, input: Dict[str, Any], force_new: bool = False) -> Task:
        """Images through a Model Router, which picks the model.
        configId: The router's slug (or id) from /v1/routers.
        input: Model-agnostic image input."""
        task: Task = await self._client.call("generate.image.create", body=_given(configId=configId, input=input), force_new=force_new)
        return task


class GenerateVideo(_Namespace):
    """`generate.video` operations."""

    async def create(self, *, configId: str, input: Dict[str, Any], force_new: bool = False) -> Task:
        """Video through a Model Router, which picks the model.
        configId: The router's slug (or id) from /v1/routers.
        input: Model-agnostic video input; every field is optional."""
        task: Task = await self._client.call("generate.video.create", body=_given(configId=configId, input=input), force_new=force_new)
        return task


class OrganizationWebapp(_Namespace):
    """`organization.webapp` operations."""

    @property
    def audit_logs(self) -> OrganizationWebappAuditLogs:
        return OrganizationWebappAuditLogs(self._client)

    def list_usage(
        self,
        *,
        from_: str,
        to: str,
        cursor: Union[str, Unset] = UNSET,
        limit: Union[int, Unset] = UNSET,
        organizationId: Union[str, Unset] = UNSET,
        workspaceIds: Union[List[str], Unset] = UNSET,
    ) -> AsyncIterator[Dict[str, Any]]:
        """Credit charges and refunds in the linked web-app workspaces.
        cursor: nextCursor of the previous page.
        from_: Window start (inclusive): ISO-8601 date or datetime.
        limit: Items per page.
        organizationId: Needed when the project is linked to several organizations.
        to: Window end (exclusive): ISO-8601 date or datetime.
        workspaceIds: Workspace ids; sent comma-joined. Default: all you administer."""
        return self._client.iterate("organization.webapp.list_usage", {}, _given(cursor=cursor, from_=from_, limit=limit, organizationId=organizationId, to=to, workspaceIds=workspaceIds))


class AvatarConversations(_Namespace):
    """`avatar_conversations` operations."""

    async def delete(self, id: str) -> None:
        """Delete a conversation."""
        await self._client.call("avatar_conversations.delete", {"id": id}, _given())

    def list(
        self,
        *,
        avatar: Union[str, Unset] = UNSET,
        cursor: Union[str, Unset] = UNSET,
        endDate: Union[str, Unset] = UNSET,
        limit: Union[int, Unset] = UNSET,
        startDate: Union[str, Unset] = UNSET,
    ) -> AsyncIterator[Dict[str, Any]]:
        """Conversations with avatars.
        avatar: Only conversations with this custom avatar id.
        cursor: nextCursor of the previous page.
        endDate: Created before (ISO-8601 datetime).
        limit: Items per page.
        startDate: Created at or after (ISO-8601 datetime)."""
        return self._client.iterate("avatar_conversations.list", {}, _given(avatar=avatar, cursor=cursor, endDate=endDate, limit=limit, startDate=startDate))

    async def retrieve(self, id: str) -> Dict[str, Any]:
        """One conversation with its transcript."""
        answer: Dict[str, Any] = await self._client.call("avatar_conversations.retrieve", {"id": id}, _given())
        return answer


class AvatarVideos(_Namespace):
    """`avatar_videos` operations."""

    async def create(self, *, model: str, force_new: bool = False, **fields: Any) -> Task:
        """A talking-avatar video from audio or a text script."""
        task: Task = await self._client.call("avatar_videos.create", body={"model": model, **fields}, force_new=force_new)
        return task


class Avatars(_Namespace):
    """`avatars` operations."""

    async def create(
        self,
        *,
        name: str,
        personality: str,
        referenceImage: str,
        voice: Dict[str, Any],
        documentIds: Union[List[str], Unset] = UNSET,
        imageProcessing: Union[Literal['optimize', 'none'], Unset] = UNSET,
        startScript: Union[str, Unset] = UNSET,
    ) -> Dict[str, Any]:
        """Create a custom avatar from an image, a voice and a personality.
        documentIds: Knowledge documents to attach.
        imageProcessing: optimize improves the image for avatars; none uses it as is.
        name: The avatar's character name.
        personality: System prompt: how the avatar behaves in conversation.
        referenceImage: The avatar's face.
        startScript: What the avatar says first when a session starts.
        voice: {type: runway-live-preset, presetId} or {type: custom, id}."""
        answer: Dict[str, Any] = await self._client.call("avatars.create", {}, _given(), _given(documentIds=documentIds, imageProcessing=imageProcessing, name=name, personality=personality, referenceImage=referenceImage, startScript=startScript, voice=voice))
        return answer

    async def delete(self, id: str) -> None:
        """Delete an avatar."""
        await self._client.call("avatars.delete", {"id": id}, _given())

    async def get_usage(self, *, endDate: str, startDate: str) -> Dict[str, Any]:
        """Conversation seconds and sessions per day over a range.
        endDate: Range end (exclusive), ISO-8601 datetime; at most 90 days after startDate.
        startDate: Range start (inclusive), ISO-8601 datetime, UTC."""
        answer: Dict[str, Any] = await self._client.call("avatars.get_usage", {}, _given(endDate=endDate, startDate=startDate))
        return answer

    def list(
        self,
        *,
        cursor: Union[str, Unset] = UNSET,
        limit: Union[int, Unset] = UNSET,
    ) -> AsyncIterator[Dict[str, Any]]:
        """The account's avatars.
        cursor: nextCursor of the previous page.
        limit: Items per page."""
        return self._client.iterate("avatars.list", {}, _given(cursor=cursor, limit=limit))

    async def retrieve(self, id: str) -> Dict[str, Any]:
        """One avatar."""
        answer: Dict[str, Any] = await self._client.call("avatars.retrieve", {"id": id}, _given())
        return answer

    async def update(
        self,
        id: str,
        *,
        documentIds: Union[List[str], Unset] = UNSET,
        imageProcessing: Union[Literal['optimize', 'none'], Unset] = UNSET,
        name: Union[str, Unset] = UNSET,
        personality: Union[str, Unset] = UNSET,
        referenceImage: Union[str, Unset] = UNSET,
        startScript: Union[str, None, Unset] = UNSET,
        voice: Union[Dict[str, Any], Unset] = UNSET,
    ) -> Dict[str, Any]:
        """Change an avatar's fields.
        documentIds: Knowledge documents to attach; replaces the current list.
        imageProcessing: optimize improves the image for avatars; none uses it as is.
        name: The avatar's character name.
        personality: System prompt: how the avatar behaves in conversation.
        referenceImage: The avatar's face.
        startScript: Opening line; null clears it.
        voice: {type: runway-live-preset, presetId} or {type: custom, id}."""
        answer: Dict[str, Any] = await self._client.call("avatars.update", {"id": id}, _given(), _given(documentIds=documentIds, imageProcessing=imageProcessing, name=name, personality=personality, referenceImage=referenceImage, startScript=startScript, voice=voice))
        return answer


class CharacterPerformance(_Namespace):
    """`character_performance` operations."""

    async def create(self, *, model: str, force_new: bool = False, **fields: Any) -> Task:
        """Drive a character image or video with a recorded performance (Act-Two)."""
        task: Task = await self._client.call("character_performance.create", body={"model": model, **fields}, force_new=force_new)
        return task


class Documents(_Namespace):
    """`documents` operations."""

    async def create(self, *, content: str, name: str) -> Dict[str, Any]:
        """Create a knowledge document for avatars.
        content: Markdown or plain text."""
        answer: Dict[str, Any] = await self._client.call("documents.create", {}, _given(), _given(content=content, name=name))
        return answer

    async def delete(self, id: str) -> None:
        """Delete a document (also detached from avatars)."""
        await self._client.call("documents.delete", {"id": id}, _given())

    def list(
        self,
        *,
        order: Literal['asc', 'desc'],
        sort: Literal['createdAt', 'updatedAt'],
        cursor: Union[str, Unset] = UNSET,
        limit: Union[int, Unset] = UNSET,
    ) -> AsyncIterator[Dict[str, Any]]:
        """The account's documents, without content.
        cursor: nextCursor of the previous page.
        limit: Items per page.
        order: Sort direction.
        sort: Field to sort by."""
        return self._client.iterate("documents.list", {}, _given(cursor=cursor, limit=limit, order=order, sort=sort))

    async def retrieve(self, id: str) -> Dict[str, Any]:
        """One document with its content."""
        answer: Dict[str, Any] = await self._client.call("documents.retrieve", {"id": id}, _given())
        return answer

    async def update(
        self,
        id: str,
        *,
        content: Union[str, Unset] = UNSET,
        name: Union[str, Unset] = UNSET,
    ) -> None:
        """Rename a document or replace its content.
        content: Replaces the whole content: markdown or plain text."""
        await self._client.call("documents.update", {"id": id}, _given(), _given(content=content, name=name))


class Generate(_Namespace):
    """`generate` operations."""

    @property
    def audio(self) -> GenerateAudio:
        return GenerateAudio(self._client)

    @property
    def image(self) -> GenerateImage:
        return GenerateImage(self._client)

    @property
    def video(self) -> GenerateVideo:
        return GenerateVideo(self._client)


class ImageToVideo(_Namespace):
    """`image_to_video` operations."""

    async def create(self, *, model: str, force_new: bool = False, **fields: Any) -> Task:
        """Video from a first frame (and, for some models, a last frame)."""
        task: Task = await self._client.call("image_to_video.create", body={"model": model, **fields}, force_new=force_new)
        return task


class ImageUpscale(_Namespace):
    """`image_upscale` operations."""

    async def create(self, *, model: str, force_new: bool = False, **fields: Any) -> Task:
        """Upscale an image."""
        task: Task = await self._client.call("image_upscale.create", body={"model": model, **fields}, force_new=force_new)
        return task


class Organization(_Namespace):
    """`organization` operations."""

    @property
    def webapp(self) -> OrganizationWebapp:
        return OrganizationWebapp(self._client)

    async def retrieve(self) -> Dict[str, Any]:
        """Credit balance, tier limits and today's generations per model."""
        answer: Dict[str, Any] = await self._client.call("organization.retrieve", {}, _given())
        return answer

    async def retrieve_usage(
        self,
        *,
        beforeDate: Union[str, Unset] = UNSET,
        startDate: Union[str, Unset] = UNSET,
    ) -> Dict[str, Any]:
        """Credits used per model and day over a date range.
        beforeDate: YYYY-MM-DD (UTC), exclusive; default startDate + 30 days, at most + 90.
        startDate: YYYY-MM-DD (UTC), inclusive; default 30 days ago."""
        answer: Dict[str, Any] = await self._client.call("organization.retrieve_usage", {}, _given(), _given(beforeDate=beforeDate, startDate=startDate))
        return answer


class RealtimeSessions(_Namespace):
    """`realtime_sessions` operations."""

    async def create(
        self,
        *,
        avatar: Dict[str, Any],
        model: Literal['gwm1_avatars'],
        integration: Union[Dict[str, Any], Unset] = UNSET,
        livekit: Union[Dict[str, Any], Unset] = UNSET,
        maxDuration: Union[int, Unset] = UNSET,
        personality: Union[str, Unset] = UNSET,
        startScript: Union[str, Unset] = UNSET,
        tools: Union[List[Dict[str, Any]], Unset] = UNSET,
    ) -> Dict[str, Any]:
        """Start a live avatar session.
        avatar: {type: runway-preset, presetId} or {type: custom, avatarId}.
        integration: Who runs the conversation: {type: elevenlabs, signedUrl} or {type: livekit, url, token, roomName}.
        livekit: Deprecated: use integration {type: livekit}.
        maxDuration: Session length limit in seconds.
        personality: Replaces the avatar's personality for this session.
        startScript: Replaces the avatar's opening line for this session.
        tools: Up to 20 tools: client_event (sent to your front end) or backend_rpc (calls your server)."""
        answer: Dict[str, Any] = await self._client.call("realtime_sessions.create", {}, _given(), _given(avatar=avatar, integration=integration, livekit=livekit, maxDuration=maxDuration, model=model, personality=personality, startScript=startScript, tools=tools))
        return answer

    async def delete(self, id: str) -> None:
        """Cancel a live session."""
        await self._client.call("realtime_sessions.delete", {"id": id}, _given())

    async def retrieve(self, id: str) -> Dict[str, Any]:
        """A live session's state (and, when ready, its session key)."""
        answer: Dict[str, Any] = await self._client.call("realtime_sessions.retrieve", {"id": id}, _given())
        return answer


class Recipes(_Namespace):
    """`recipes` operations."""

    async def ad_localization(
        self,
        *,
        referenceImage: Dict[str, Any],
        targetLanguage: Literal['ar', 'zh', 'zh-Hant', 'nl', 'en', 'fr', 'de', 'hi', 'id', 'it', 'ja', 'ko', 'pl', 'pt', 'ru', 'es', 'sv', 'th', 'tr', 'uk', 'vi', 'el'],
        version: Literal['2026-06', 'unsafe-latest'],
        force_new: bool = False,
    ) -> Task:
        """Recipe: an ad image localized into another language.
        referenceImage: The ad image to localize, as {uri}.
        targetLanguage: Language of the localized ad (ISO-style code).
        version: Recipe version: a dated one pins behaviour; unsafe-latest follows the newest."""
        task: Task = await self._client.call("recipes.ad_localization", body=_given(referenceImage=referenceImage, targetLanguage=targetLanguage, version=version), force_new=force_new)
        return task

    async def marketing_stock_image(
        self,
        *,
        prompt: str,
        version: Literal['2026-06', 'unsafe-latest'],
        outputCount: Union[int, Unset] = UNSET,
        quality: Union[Literal['low', 'medium', 'high'], Unset] = UNSET,
        referenceImage: Union[Dict[str, Any], Unset] = UNSET,
        force_new: bool = False,
    ) -> Task:
        """Recipe: marketing stock images from a brief.
        outputCount: Images to make (1-4); cost grows with it.
        prompt: The brief: subject, audience, channel, mood, setting.
        quality: Rendering quality; lower is faster and cheaper.
        referenceImage: Optional brand logo, as {uri}.
        version: Recipe version: a dated one pins behaviour; unsafe-latest follows the newest."""
        task: Task = await self._client.call("recipes.marketing_stock_image", body=_given(outputCount=outputCount, prompt=prompt, quality=quality, referenceImage=referenceImage, version=version), force_new=force_new)
        return task

    async def multi_shot_video(
        self,
        *,
        mode: Literal['auto', 'custom'],
        version: Literal['2026-06', 'unsafe-latest'],
        audio: Union[bool, Unset] = UNSET,
        duration: Union[Literal[5, 10, 15], Unset] = UNSET,
        firstFrame: Union[Dict[str, Any], Unset] = UNSET,
        prompt: Union[str, Unset] = UNSET,
        ratio: Union[Literal['1280:720', '720:1280', '960:960', '1920:1080', '1080:1920', '1440:1440'], Unset] = UNSET,
        shots: Union[List[Dict[str, Any]], Unset] = UNSET,
        force_new: bool = False,
    ) -> Task:
        """Recipe: a multi-shot video from a story or a shot list.
        audio: Generate a soundtrack.
        duration: Total length in seconds.
        firstFrame: Optional first frame, as {uri}.
        mode: auto: a story prompt split into 5 shots; custom: your 3-5 shots.
        prompt: Story prompt (auto mode).
        ratio: 720p ratios use the standard tier, 1080p ones the pro tier.
        shots: Custom mode: 3-5 shots {prompt, duration} whose durations add up to duration.
        version: Recipe version: a dated one pins behaviour; unsafe-latest follows the newest."""
        task: Task = await self._client.call("recipes.multi_shot_video", body=_given(audio=audio, duration=duration, firstFrame=firstFrame, mode=mode, prompt=prompt, ratio=ratio, shots=shots, version=version), force_new=force_new)
        return task

    async def product_ad(
        self,
        *,
        productImages: List[Dict[str, Any]],
        version: Literal['2026-06', '2026-07', 'unsafe-latest'],
        audio: Union[bool, Unset] = UNSET,
        duration: Union[int, Unset] = UNSET,
        productInfo: Union[str, Unset] = UNSET,
        ratio: Union[Literal['1280:720', '720:1280', '960:960', '834:1112', '1920:1080', '1080:1920', '1440:1440', '1248:1664'], Unset] = UNSET,
        styleImages: Union[List[Dict[str, Any]], Unset] = UNSET,
        userConcept: Union[str, Unset] = UNSET,
        force_new: bool = False,
    ) -> Task:
        """Recipe: a product ad video from product images.
        audio: Generate a soundtrack.
        duration: Output length in seconds (4-15).
        productImages: 1-10 images of the product, each {uri}; the first leads.
        productInfo: Product description and what to highlight.
        styleImages: Up to 4 style references (lighting, palette, mood), each {uri}.
        userConcept: Creative direction: brand voice, framing, scene, camera, story.
        version: Recipe version: a dated one pins behaviour; unsafe-latest follows the newest."""
        task: Task = await self._client.call("recipes.product_ad", body=_given(audio=audio, duration=duration, productImages=productImages, productInfo=productInfo, ratio=ratio, styleImages=styleImages, userConcept=userConcept, version=version), force_new=force_new)
        return task

    async def product_campaign_image(
        self,
        *,
        image: Dict[str, Any],
        prompt: str,
        version: Literal['2026-06', 'unsafe-latest'],
        force_new: bool = False,
    ) -> Task:
        """Recipe: four campaign images of one product.
        image: The product to keep across the campaign, as {uri}.
        prompt: Style or creative brief for the campaign.
        version: Recipe version: a dated one pins behaviour; unsafe-latest follows the newest."""
        task: Task = await self._client.call("recipes.product_campaign_image", body=_given(image=image, prompt=prompt, version=version), force_new=force_new)
        return task

    async def product_swap(
        self,
        *,
        newProductImages: List[Dict[str, Any]],
        originalProductImage: Dict[str, Any],
        referenceVideo: Dict[str, Any],
        version: Literal['2026-06', 'unsafe-latest'],
        audio: Union[bool, Unset] = UNSET,
        duration: Union[int, Unset] = UNSET,
        resolution: Union[Literal['720p', '1080p'], Unset] = UNSET,
        force_new: bool = False,
    ) -> Task:
        """Recipe: a video with its product replaced by another.
        audio: Generate a soundtrack.
        duration: Output length in seconds (4-15).
        newProductImages: 1-10 images of the new product, each {uri, view?}.
        originalProductImage: Image of the product being replaced, as {uri}.
        referenceVideo: Video showing the product to replace (1.8-15 s), as {uri}.
        version: Recipe version: a dated one pins behaviour; unsafe-latest follows the newest."""
        task: Task = await self._client.call("recipes.product_swap", body=_given(audio=audio, duration=duration, newProductImages=newProductImages, originalProductImage=originalProductImage, referenceVideo=referenceVideo, resolution=resolution, version=version), force_new=force_new)
        return task

    async def product_ugc(
        self,
        *,
        characterImage: Dict[str, Any],
        productImage: Dict[str, Any],
        version: Literal['2026-06', 'unsafe-latest'],
        audio: Union[bool, Unset] = UNSET,
        duration: Union[int, Unset] = UNSET,
        productInfo: Union[str, Unset] = UNSET,
        ratio: Union[Literal['720:1280', '1080:1920'], Unset] = UNSET,
        userConcept: Union[str, Unset] = UNSET,
        force_new: bool = False,
    ) -> Task:
        """Recipe: a user-generated-content style video of a person presenting a product.
        audio: Generate a soundtrack.
        characterImage: The person on camera, as {uri}; aspect ratio 0.4-4.
        duration: Output length in seconds (4-15).
        productImage: The product promoted, as {uri}; aspect ratio 0.4-4.
        productInfo: What the product is and what the script should mention.
        userConcept: Tone, message, or a full dialogue script.
        version: Recipe version: a dated one pins behaviour; unsafe-latest follows the newest."""
        task: Task = await self._client.call("recipes.product_ugc", body=_given(audio=audio, characterImage=characterImage, duration=duration, productImage=productImage, productInfo=productInfo, ratio=ratio, userConcept=userConcept, version=version), force_new=force_new)
        return task


class Routers(_Namespace):
    """`routers` operations."""

    async def create(
        self,
        *,
        slug: str,
        description: Union[str, Unset] = UNSET,
        name: Union[str, Unset] = UNSET,
        settings: Union[Dict[str, Any], Unset] = UNSET,
    ) -> Dict[str, Any]:
        """Create a model-router configuration.
        name: Display name; the slug when omitted.
        settings: Routing preferences; cost-optimised, all models allowed when omitted.
        slug: Immutable name used as configId in /v1/generate; unique in the project."""
        answer: Dict[str, Any] = await self._client.call("routers.create", {}, _given(), _given(description=description, name=name, settings=settings, slug=slug))
        return answer

    async def delete(self, id: str) -> None:
        """Delete a router configuration."""
        await self._client.call("routers.delete", {"id": id}, _given())

    def list(
        self,
        *,
        cursor: Union[str, Unset] = UNSET,
        limit: Union[int, Unset] = UNSET,
    ) -> AsyncIterator[Dict[str, Any]]:
        """The account's router configurations.
        cursor: nextCursor of the previous page.
        limit: Items per page."""
        return self._client.iterate("routers.list", {}, _given(cursor=cursor, limit=limit))

    def list_requests(
        self,
        id: str,
        *,
        cursor: Union[str, Unset] = UNSET,
        limit: Union[int, Unset] = UNSET,
    ) -> AsyncIterator[Dict[str, Any]]:
        """A router's routing history.
        cursor: nextCursor of the previous page.
        limit: Items per page."""
        return self._client.iterate("routers.list_requests", {"id": id}, _given(cursor=cursor, limit=limit))

    async def retrieve(self, id: str) -> Dict[str, Any]:
        """One router configuration."""
        answer: Dict[str, Any] = await self._client.call("routers.retrieve", {"id": id}, _given())
        return answer

    async def update(
        self,
        id: str,
        *,
        description: Union[str, None, Unset] = UNSET,
        name: Union[str, Unset] = UNSET,
        settings: Union[Dict[str, Any], Unset] = UNSET,
    ) -> Dict[str, Any]:
        """Change a router's name, description or settings (settings merge).
        description: Text, or null to clear it.
        name: Display name (the slug cannot change).
        settings: Merged into the current settings."""
        answer: Dict[str, Any] = await self._client.call("routers.update", {"id": id}, _given(), _given(description=description, name=name, settings=settings))
        return answer


class SoundEffect(_Namespace):
    """`sound_effect` operations."""

    async def create(self, *, model: str, force_new: bool = False, **fields: Any) -> Task:
        """Sound effects or audio from a prompt."""
        task: Task = await self._client.call("sound_effect.create", body={"model": model, **fields}, force_new=force_new)
        return task


class SpeechToSpeech(_Namespace):
    """`speech_to_speech` operations."""

    async def create(self, *, model: str, force_new: bool = False, **fields: Any) -> Task:
        """Re-voice the speech in an audio or video file."""
        task: Task = await self._client.call("speech_to_speech.create", body={"model": model, **fields}, force_new=force_new)
        return task


class Tasks(_Namespace):
    """`tasks` operations."""

    async def delete(self, id: str) -> None:
        """Cancel a running task, or delete a finished one with its outputs."""
        await self._client.call("tasks.delete", {"id": id}, _given())

    async def retrieve(self, id: str) -> Dict[str, Any]:
        """A task's status, progress and outputs."""
        answer: Dict[str, Any] = await self._client.call("tasks.retrieve", {"id": id}, _given())
        return answer


class TextToImage(_Namespace):
    """`text_to_image` operations."""

    async def create(self, *, model: str, force_new: bool = False, **fields: Any) -> Task:
        """Images from a prompt, optionally guided by reference images."""
        task: Task = await self._client.call("text_to_image.create", body={"model": model, **fields}, force_new=force_new)
        return task


class TextToSpeech(_Namespace):
    """`text_to_speech` operations."""

    async def create(self, *, model: str, force_new: bool = False, **fields: Any) -> Task:
        """Speech from text in a chosen voice."""
        task: Task = await self._client.call("text_to_speech.create", body={"model": model, **fields}, force_new=force_new)
        return task


class TextToVideo(_Namespace):
    """`text_to_video` operations."""

    async def create(self, *, model: str, force_new: bool = False, **fields: Any) -> Task:
        """Video from a prompt."""
        task: Task = await self._client.call("text_to_video.create", body={"model": model, **fields}, force_new=force_new)
        return task


class Uploads(_Namespace):
    """`uploads` operations."""

    async def create_ephemeral(self, *, filename: str, type: Literal['ephemeral']) -> Dict[str, Any]:
        """Start an ephemeral upload: a presigned form and the runway:// URI it becomes.
        filename: Name of the local file, with its extension."""
        answer: Dict[str, Any] = await self._client.call("uploads.create_ephemeral", {}, _given(), _given(filename=filename, type=type))
        return answer


class VideoToAudio(_Namespace):
    """`video_to_audio` operations."""

    async def create(self, *, model: str, force_new: bool = False, **fields: Any) -> Task:
        """Sound effects for a video (audio only)."""
        task: Task = await self._client.call("video_to_audio.create", body={"model": model, **fields}, force_new=force_new)
        return task


class VideoToHdr(_Namespace):
    """`video_to_hdr` operations."""

    async def create(self, *, model: str, force_new: bool = False, **fields: Any) -> Task:
        """Convert an SDR video to HDR."""
        task: Task = await self._client.call("video_to_hdr.create", body={"model": model, **fields}, force_new=force_new)
        return task


class VideoToVideo(_Namespace):
    """`video_to_video` operations."""

    async def create(self, *, model: str, force_new: bool = False, **fields: Any) -> Task:
        """Edit, restyle or extend a video."""
        task: Task = await self._client.call("video_to_video.create", body={"model": model, **fields}, force_new=force_new)
        return task


class VideoUpscale(_Namespace):
    """`video_upscale` operations."""

    async def create(self, *, model: str, force_new: bool = False, **fields: Any) -> Task:
        """Upscale a video."""
        task: Task = await self._client.call("video_upscale.create", body={"model": model, **fields}, force_new=force_new)
        return task


class VoiceDubbing(_Namespace):
    """`voice_dubbing` operations."""

    async def create(self, *, model: str, force_new: bool = False, **fields: Any) -> Task:
        """Dub speech audio into another language."""
        task: Task = await self._client.call("voice_dubbing.create", body={"model": model, **fields}, force_new=force_new)
        return task


class VoiceIsolation(_Namespace):
    """`voice_isolation` operations."""

    async def create(self, *, model: str, force_new: bool = False, **fields: Any) -> Task:
        """Isolate the voice in an audio file."""
        task: Task = await self._client.call("voice_isolation.create", body={"model": model, **fields}, force_new=force_new)
        return task


class Voices(_Namespace):
    """`voices` operations."""

    async def create(
        self,
        *,
        from_: Dict[str, Any],
        name: str,
        description: Union[str, None, Unset] = UNSET,
    ) -> Dict[str, Any]:
        """Create a custom voice from a description or an audio sample.
        description: Up to 1024 characters, or null.
        from_: {type: text, prompt, model} designs a voice; {type: audio, audio} clones one."""
        answer: Dict[str, Any] = await self._client.call("voices.create", {}, _given(), _given(description=description, from_=from_, name=name))
        return answer

    async def delete(self, id: str) -> None:
        """Delete a custom voice."""
        await self._client.call("voices.delete", {"id": id}, _given())

    def list(
        self,
        *,
        cursor: Union[str, Unset] = UNSET,
        limit: Union[int, Unset] = UNSET,
    ) -> AsyncIterator[Dict[str, Any]]:
        """The account's custom voices.
        cursor: nextCursor of the previous page.
        limit: Items per page."""
        return self._client.iterate("voices.list", {}, _given(cursor=cursor, limit=limit))

    async def preview(
        self,
        *,
        model: Literal['eleven_ttv_v3', 'eleven_multilingual_ttv_v2'],
        prompt: str,
    ) -> Dict[str, Any]:
        """Hear a voice designed from a description before keeping it.
        model: Voice design model; eleven_ttv_v3 is the newer.
        prompt: Description of the voice (20-1000 characters)."""
        answer: Dict[str, Any] = await self._client.call("voices.preview", {}, _given(), _given(model=model, prompt=prompt))
        return answer

    async def retrieve(self, id: str) -> Dict[str, Any]:
        """One custom voice."""
        answer: Dict[str, Any] = await self._client.call("voices.retrieve", {"id": id}, _given())
        return answer

    async def update(
        self,
        id: str,
        *,
        description: Union[str, None, Unset] = UNSET,
        name: Union[str, Unset] = UNSET,
    ) -> Dict[str, Any]:
        """Rename a custom voice or change its description.
        description: Up to 1024 characters, or null."""
        answer: Dict[str, Any] = await self._client.call("voices.update", {"id": id}, _given(), _given(description=description, name=name))
        return answer


class WorkflowInvocations(_Namespace):
    """`workflow_invocations` operations."""

    async def retrieve(self, id: str) -> Dict[str, Any]:
        """A workflow invocation's status and node outputs."""
        answer: Dict[str, Any] = await self._client.call("workflow_invocations.retrieve", {"id": id}, _given())
        return answer


class Workflows(_Namespace):
    """`workflows` operations."""

    async def list(self) -> Dict[str, Any]:
        """The account's published workflows and their versions."""
        answer: Dict[str, Any] = await self._client.call("workflows.list", {}, _given())
        return answer

    async def retrieve(self, id: str) -> Dict[str, Any]:
        """A published workflow with its graph."""
        answer: Dict[str, Any] = await self._client.call("workflows.retrieve", {"id": id}, _given())
        return answer

    async def run(self, id: str, *, nodeOutputs: Union[Any, Unset] = UNSET, force_new: bool = False) -> Task:
        """Run a published workflow with node inputs.
        nodeOutputs: {nodeId: {outputKey: {type: primitive, value} | {type: image|video|audio, uri}}}; not checked here.
        Returns the invocation as a Task, journaled like a task's create (see Client.run_workflow)."""
        task: Task = await self._client.call("workflows.run", {"id": id}, _given(), _given(nodeOutputs=nodeOutputs), force_new=force_new)
        return task


class Api(_Namespace):
    """Every operation of Runway's API, by the SDK's names."""

    @property
    def avatar_conversations(self) -> AvatarConversations:
        return AvatarConversations(self._client)

    @property
    def avatar_videos(self) -> AvatarVideos:
        return AvatarVideos(self._client)

    @property
    def avatars(self) -> Avatars:
        return Avatars(self._client)

    @property
    def character_performance(self) -> CharacterPerformance:
        return CharacterPerformance(self._client)

    @property
    def documents(self) -> Documents:
        return Documents(self._client)

    @property
    def generate(self) -> Generate:
        return Generate(self._client)

    @property
    def image_to_video(self) -> ImageToVideo:
        return ImageToVideo(self._client)

    @property
    def image_upscale(self) -> ImageUpscale:
        return ImageUpscale(self._client)

    @property
    def organization(self) -> Organization:
        return Organization(self._client)

    @property
    def realtime_sessions(self) -> RealtimeSessions:
        return RealtimeSessions(self._client)

    @property
    def recipes(self) -> Recipes:
        return Recipes(self._client)

    @property
    def routers(self) -> Routers:
        return Routers(self._client)

    @property
    def sound_effect(self) -> SoundEffect:
        return SoundEffect(self._client)

    @property
    def speech_to_speech(self) -> SpeechToSpeech:
        return SpeechToSpeech(self._client)

    @property
    def tasks(self) -> Tasks:
        return Tasks(self._client)

    @property
    def text_to_image(self) -> TextToImage:
        return TextToImage(self._client)

    @property
    def text_to_speech(self) -> TextToSpeech:
        return TextToSpeech(self._client)

    @property
    def text_to_video(self) -> TextToVideo:
        return TextToVideo(self._client)

    @property
    def uploads(self) -> Uploads:
        return Uploads(self._client)

    @property
    def video_to_audio(self) -> VideoToAudio:
        return VideoToAudio(self._client)

    @property
    def video_to_hdr(self) -> VideoToHdr:
        return VideoToHdr(self._client)

    @property
    def video_to_video(self) -> VideoToVideo:
        return VideoToVideo(self._client)

    @property
    def video_upscale(self) -> VideoUpscale:
        return VideoUpscale(self._client)

    @property
    def voice_dubbing(self) -> VoiceDubbing:
        return VoiceDubbing(self._client)

    @property
    def voice_isolation(self) -> VoiceIsolation:
        return VoiceIsolation(self._client)

    @property
    def voices(self) -> Voices:
        return Voices(self._client)

    @property
    def workflow_invocations(self) -> WorkflowInvocations:
        return WorkflowInvocations(self._client)

    @property
    def workflows(self) -> Workflows:
        return Workflows(self._client)
