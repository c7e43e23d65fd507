import { BadRequestException, HttpException, HttpStatus, UnsupportedMediaTypeException } from '@nestjs/common';
import busboy from 'busboy';
import type { Request } from 'express';
import { DATASET_PART_NAMES, type DatasetPartName } from '@bulwark/data';

/**
 * POST /datasets: the one route whose body is not JSON. requireJsonBodies and the JSON parsers
 * leave it to readDatasetUpload, which bounds it itself; the path is matched exactly, so no
 * other route (nor another method here) is exempted by accident.
 */
export function isDatasetUpload(req: Request): boolean {
  return req.method === 'POST' && /^\/datasets\/?$/.test(req.path);
}

/** What a POST /datasets body held: its file parts by name, and its text fields. */
export interface DatasetUploadBody {
  parts: Partial<Record<DatasetPartName, Buffer>>;
  fields: Record<string, string>;
}

/** The text fields POST /datasets reads; any other is refused, as unknown JSON properties are. */
export const DATASET_UPLOAD_FIELDS = ['name', 'classNames', 'testFraction', 'seed'] as const;
const FIELD_LIMIT_BYTES = 64 * 1024;

class PayloadTooLargeException extends HttpException {
  constructor(limit: number) {
    super(
      {
        statusCode: HttpStatus.PAYLOAD_TOO_LARGE,
        message: [`body exceeds the limit of ${limit} bytes (DATASET_UPLOAD_LIMIT_BYTES)`],
        error: 'Payload Too Large',
      },
      HttpStatus.PAYLOAD_TOO_LARGE,
    );
  }
}

/**
 * Reads a multipart/form-data upload as it streams in, refusing it as soon as it breaks a rule:
 * a declared or actual size over `limitBytes`, a part or field with an unknown name, a part sent
 * twice. Only this route takes a body that is not JSON (requireJsonBodies exempts it), so the
 * bound that body-parser gives every other route is enforced here, on the bytes received.
 */
export function readDatasetUpload(req: Request, limitBytes: number): Promise<DatasetUploadBody> {
  const contentType = req.headers['content-type'] ?? '';
  if (!/^multipart\/form-data\s*;/i.test(contentType)) {
    return Promise.reject(
      new UnsupportedMediaTypeException([
        `Content-Type must be multipart/form-data (got ${contentType ? `"${contentType.slice(0, 64)}"` : 'none'}): ` +
          'send the files as parts train-images, train-labels[, test-images, test-labels]',
      ]),
    );
  }
  if (Number(req.headers['content-length']) > limitBytes) {
    // Refused before a byte is read; the connection closes so the body is never waited for.
    req.res?.setHeader('Connection', 'close');
    return Promise.reject(new PayloadTooLargeException(limitBytes));
  }
  return new Promise((resolve, reject) => {
    const parts: DatasetUploadBody['parts'] = {};
    const fields: Record<string, string> = {};
    let received = 0;
    let failed = false;
    let parser: ReturnType<typeof busboy>;
    try {
      parser = busboy({
        headers: req.headers,
        limits: { fileSize: limitBytes, files: DATASET_PART_NAMES.length, fields: DATASET_UPLOAD_FIELDS.length, fieldSize: FIELD_LIMIT_BYTES },
      });
    } catch (error) {
      reject(new BadRequestException([`body is not valid multipart/form-data: ${(error as Error).message}`]));
      return;
    }
    const fail = (error: HttpException) => {
      if (failed) return;
      failed = true;
      req.unpipe(parser);
      // The rest of the body is drained, not read into memory, and the connection is not reused.
      req.res?.setHeader('Connection', 'close');
      req.resume();
      reject(error);
    };
    parser.on('file', (name, stream) => {
      if (!(DATASET_PART_NAMES as readonly string[]).includes(name)) {
        stream.resume();
        fail(new BadRequestException([`${name.slice(0, 64)}: unknown part; the file parts are ${DATASET_PART_NAMES.join(', ')}`]));
        return;
      }
      const part = name as DatasetPartName;
      if (parts[part]) {
        stream.resume();
        fail(new BadRequestException([`${part}: sent twice`]));
        return;
      }
      const chunks: Buffer[] = [];
      // busboy stops a part at fileSize and says so here (it would otherwise hand on a truncated file).
      stream.on('limit', () => fail(new PayloadTooLargeException(limitBytes)));
      stream.on('error', (error: Error) => fail(new BadRequestException([`${part}: the part does not end (${error.message})`])));
      stream.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received > limitBytes) {
          fail(new PayloadTooLargeException(limitBytes));
          return;
        }
        if (!failed) chunks.push(chunk);
      });
      stream.on('end', () => {
        if (!failed) parts[part] = Buffer.concat(chunks);
      });
    });
    parser.on('field', (name, value, info) => {
      if (!(DATASET_UPLOAD_FIELDS as readonly string[]).includes(name)) {
        fail(new BadRequestException([`${name.slice(0, 64)}: unknown field; the fields are ${DATASET_UPLOAD_FIELDS.join(', ')}`]));
        return;
      }
      if (info.valueTruncated) {
        fail(new BadRequestException([`${name}: longer than ${FIELD_LIMIT_BYTES} bytes`]));
        return;
      }
      fields[name] = value;
    });
    parser.on('filesLimit', () => fail(new BadRequestException([`at most ${DATASET_PART_NAMES.length} file parts: ${DATASET_PART_NAMES.join(', ')}`])));
    parser.on('fieldsLimit', () => fail(new BadRequestException([`at most ${DATASET_UPLOAD_FIELDS.length} fields: ${DATASET_UPLOAD_FIELDS.join(', ')}`])));
    parser.on('error', (error) => fail(new BadRequestException([`body is not valid multipart/form-data: ${error.message}`])));
    parser.on('close', () => {
      if (!failed) resolve({ parts, fields });
    });
    req.on('error', (error) => fail(new BadRequestException([`upload interrupted: ${error.message}`])));
    req.pipe(parser);
  });
}
