package io.distlock.spring.boot.jetty.app;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;

/**
 * docs/spring-boot.md's application, unchanged: on this module's class path (the Jetty recipe's
 * dependencies) it runs on Jetty.
 */
@SpringBootApplication
public class LocksApplication {

    public static void main(String[] args) {
        SpringApplication.run(LocksApplication.class, args);
    }
}
