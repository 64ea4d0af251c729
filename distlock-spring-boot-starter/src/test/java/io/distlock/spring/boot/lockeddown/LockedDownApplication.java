package io.distlock.spring.boot.lockeddown;

import java.security.Principal;

import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.context.annotation.Bean;
import org.springframework.security.config.Customizer;
import org.springframework.security.config.annotation.web.builders.HttpSecurity;
import org.springframework.security.core.userdetails.User;
import org.springframework.security.core.userdetails.UserDetailsService;
import org.springframework.security.provisioning.InMemoryUserDetailsManager;
import org.springframework.security.web.SecurityFilterChain;

import io.distlock.websocket.Authorizer;

/** An application that lets only authenticated users reach the endpoint's path, as docs/spring-boot.md shows. */
@SpringBootApplication
public class LockedDownApplication {

    @Bean
    SecurityFilterChain security(HttpSecurity http) throws Exception {
        return http
                .authorizeHttpRequests(requests -> requests
                        .requestMatchers("/distlock/lock").authenticated()
                        .anyRequest().permitAll())
                .formLogin(Customizer.withDefaults())
                .httpBasic(Customizer.withDefaults())
                .csrf(csrf -> csrf.disable())
                .build();
    }

    @Bean
    UserDetailsService users() {
        return new InMemoryUserDetailsManager(User.withUsername("alice").password("{noop}alice-password").roles("USER").build());
    }

    @Bean
    Authorizer ownLocksOnly() {
        return (principal, lock) -> principal instanceof Principal user && lock.startsWith(user.getName() + "-");
    }
}
