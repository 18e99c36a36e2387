import { Injectable, type PipeTransform } from '@nestjs/common';
import { DomainError, secretNamePattern } from '@agentyard/contracts';

/** A name no secret can have cannot exist: 404 without asking a service (like the id pipes). */
@Injectable()
export class SecretNamePipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (!secretNamePattern.test(value)) throw new DomainError('NOT_FOUND', 'no such secret');
    return value;
  }
}
