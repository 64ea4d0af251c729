package io.distlock.spring.boot.docs;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;

/**
 * The application of docs/spring-boot.md, as it stands there: the starter on the class path,
 * {@code distlock.redis.url} set, and no other code.
 */
@SpringBootApplication
public class LocksApplication {

    public static void main(String[] args) {
        SpringApplication.run(LocksApplication.class, args);
    }
}
