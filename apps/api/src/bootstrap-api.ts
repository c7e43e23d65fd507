import { INestApplication, LogLevel } from '@nestjs/common';
import { HttpAdapterHost, NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import type { RequestHandler } from 'express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { cleanupOpenApiDoc } from 'nestjs-zod';
import type { ApiConfig } from '@bulwark/config';
import { MAX_PREDICT_INPUTS } from '@bulwark/spec';
import { AppModule } from './app.module';
import { BodyParserErrorFilter } from './common/body-parser-error.filter';
import { StoreUnavailableFilter, redisPortOf } from './common/store-unavailable';
import { boundedJson, requireJsonBodies } from './common/bounded-json';
import { isDatasetUpload } from './datasets/dataset-upload';
import { ZodRequestPipe } from './common/zod-request.pipe';
import { mountDashboard } from './dashboard/dashboard-static';

/** 64 CIFAR-10 images of 3,072 numbers, each written with up to 20 characters in JSON. */
const PREDICT_BODY_LIMIT_BYTES = MAX_PREDICT_INPUTS * 32 * 32 * 3 * 20 + 64 * 1024;

/** Builds the HTTP app (shared by main.ts and the tests), without listening. */
export async function createApiApp(config: ApiConfig, logger: LogLevel[] | false = ['error', 'warn', 'log']): Promise<INestApplication> {
  // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment -- Nest types its options as a class but reads a plain object.
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config), { bodyParser: false, logger });
  app.disable('x-powered-by');
  // Off unless CORS_ORIGINS names origins: a browser then refuses every cross-origin call. Keys
  // travel in a header, never a cookie, so no credentials mode is needed.
  if (config.corsOrigins.length) {
    app.enableCors({
      origin: config.corsOrigins,
      allowedHeaders: ['Authorization', 'Content-Type', 'Idempotency-Key', 'Last-Event-ID'],
      exposedHeaders: ['Retry-After', 'Idempotent-Replayed', 'Digest', 'Content-Disposition'],
      maxAge: 600,
    });
  }
  // The dashboard's static files: public, read-only, under their own Content-Security-Policy.
  mountDashboard(app);
  // Every body is UTF-8 JSON, or refused before a byte of it is read; but for a dataset upload
  // (multipart, streamed), which its route reads and bounds itself (DATASET_UPLOAD_LIMIT_BYTES).
  app.use(unlessDatasetUpload(requireJsonBodies));
  // Registered first, so it reads predict bodies before the general parser (which then leaves
  // them be): a batch of images is far larger than any other request. Every parser refuses a
  // Content-Length over its limit before reading, and deep nesting before parsing.
  app.use('/evaluations/:id/predict', boundedJson(Math.max(config.bodyLimitBytes, PREDICT_BODY_LIMIT_BYTES)));
  app.use('/models/import', boundedJson(Math.max(config.bodyLimitBytes, config.modelUploadLimitBytes)));
  // A carried-over run brings its checkpoint (a few MiB of weights and optimizer state).
  app.use('/runs/resume', boundedJson(Math.max(config.bodyLimitBytes, config.modelUploadLimitBytes)));
  app.use(unlessDatasetUpload(boundedJson(config.bodyLimitBytes)));
  const bodyParserErrors = new BodyParserErrorFilter(app.get(HttpAdapterHost).httpAdapter, [
    { bytes: config.bodyLimitBytes, variable: 'BODY_LIMIT_BYTES' },
    { bytes: config.modelUploadLimitBytes, variable: 'MODEL_UPLOAD_LIMIT_BYTES' },
    { bytes: config.datasetUploadLimitBytes, variable: 'DATASET_UPLOAD_LIMIT_BYTES' },
  ]);
  // One chain, not two global filters: Nest hands an error to the first filter that catches it, and both catch everything.
  app.useGlobalFilters(new StoreUnavailableFilter(bodyParserErrors, redisPortOf(config.redisUrl)));
  // Bodies are never coerced ("2" for epochs is a client bug); only query strings are, by their schemas.
  app.useGlobalPipes(new ZodRequestPipe());

  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Bulwark')
      .setDescription('Adversarial training and robustness evaluation jobs')
      .setVersion(process.env.npm_package_version ?? '0.1.0')
      .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'An API key (`npm run -s keys -- create --tenant NAME --role member`)' })
      .build(),
  );
  // Request schemas come from @bulwark/spec through nestjs-zod, which finishes them here.
  SwaggerModule.setup('docs', app, cleanupOpenApiDoc(document), { jsonDocumentUrl: 'docs/openapi.json' });
  return app;
}

function unlessDatasetUpload(handler: RequestHandler): RequestHandler {
  return (req, res, next) => {
    if (isDatasetUpload(req)) next();
    else void handler(req, res, next);
  };
}
