import { Controller, Get, Headers, Param, Query, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiProduces, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { Caller, CurrentCaller } from '../auth/caller.decorator';
import { RateLimit } from '../auth/rate-limit';
import { RunIdPipe } from '../runs/run-id.pipe';
import { RunsService } from '../runs/runs.service';
import { RunEventStreams } from './run-event-streams.service';

const STREAM_DESCRIPTION =
  'Server-Sent Events (text/event-stream): one message per event, `event:` its type (status, progress, metric, checkpoint, shard), ' +
  '`data:` its JSON (type, runId, kind, at and the fields of its type), `id:` its position. Send the last id received as the ' +
  'Last-Event-ID header (or the lastEventId query parameter) to resume right after it; "0" replays everything retained. ' +
  'A comment line arrives every 15 s without events. Read it with fetch() and the key in the Authorization header: ' +
  "browsers' EventSource cannot send headers.";

const LAST_EVENT_ID_HEADER = { name: 'Last-Event-ID', required: false, description: 'Resume after this event id' } as const;
const LAST_EVENT_ID_QUERY = { name: 'lastEventId', required: false, description: 'Last-Event-ID, for clients that cannot set the header' } as const;

@ApiTags('events')
@ApiBearerAuth()
@Controller()
export class EventsController {
  constructor(
    private readonly streams: RunEventStreams,
    private readonly runs: RunsService,
  ) {}

  @Get('events')
  @RateLimit('heavy-reads')
  @ApiOperation({ summary: "Live events of every run of the caller's tenant, from now on (or after Last-Event-ID)" })
  @ApiProduces('text/event-stream')
  @ApiHeader(LAST_EVENT_ID_HEADER)
  @ApiQuery(LAST_EVENT_ID_QUERY)
  @ApiOkResponse({ description: STREAM_DESCRIPTION })
  async tenantEvents(
    @CurrentCaller() caller: Caller,
    @Headers('last-event-id') header: string | undefined,
    @Query('lastEventId') query: string | undefined,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const lastEventId = RunEventStreams.resumeFrom(header, query);
    await this.streams.serve({ keyId: caller.keyId, tenantId: caller.tenantId, lastEventId }, req, res);
  }

  @Get('runs/:id/events')
  @RateLimit('heavy-reads')
  @ApiOperation({ summary: 'Live events of one run (evaluations included): its retained history first, or what follows Last-Event-ID' })
  @ApiProduces('text/event-stream')
  @ApiHeader(LAST_EVENT_ID_HEADER)
  @ApiQuery(LAST_EVENT_ID_QUERY)
  @ApiOkResponse({ description: STREAM_DESCRIPTION })
  @ApiNotFoundResponse({ description: 'No such run of the caller’s tenant' })
  async runEvents(
    @CurrentCaller() caller: Caller,
    @Param('id', RunIdPipe) id: string,
    @Headers('last-event-id') header: string | undefined,
    @Query('lastEventId') query: string | undefined,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const lastEventId = RunEventStreams.resumeFrom(header, query);
    await this.runs.get(caller.tenantId, id);
    await this.streams.serve({ keyId: caller.keyId, tenantId: caller.tenantId, runId: id, lastEventId }, req, res);
  }
}
